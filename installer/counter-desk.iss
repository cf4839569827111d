; Inno Setup 6 script for the counter (医疗救助柜台) on Windows counter PCs.
;
; Build the bundle first (it lands in dist\counter-desk), then:
;     iscc /DAppVersion=0.1.0 installer\counter-desk.iss
; The workflow .github\workflows\windows.yml does both on a hosted Windows runner.
;
; - Per machine, into Program Files (administrator rights), with a Start-menu entry.
; - An optional deployment file (counter-desk.toml: the district server, CA file, printer,
;   data folder) placed beside the installer is copied to %ProgramData%\counter-desk, where the
;   counter reads it (docs/first-run.md).
; - Uninstalling removes the program and keeps the data (the encrypted cache, the settings)
;   unless the person uninstalling asks for it to go; the keyring's device token is the user's.
; tests/bundle/test_installer.py checks that every file this script takes from dist\ exists in
; the bundle the spec builds.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "医疗救助柜台"
#define AppExe "counter-desk.exe"
#define BundleDir "..\dist\counter-desk"

[Setup]
AppId={{7C1E3B0A-5D2F-4C8E-9B61-2A4F0D8E6C13}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=区医疗保障事务中心
DefaultDirName={autopf}\counter-desk
DefaultGroupName={#AppName}
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\dist\installer
OutputBaseFilename=counter-desk-setup-{#AppVersion}
SetupIconFile=..\resources\icons\counter-desk.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ShowLanguageDialog=no

[Languages]
; Inno Setup ships no Simplified Chinese messages of its own; the script's texts are Chinese.
Name: "en"; MessagesFile: "compiler:Default.isl"

[Files]
Source: "{#BundleDir}\counter-desk.exe"; DestDir: "{app}"; Flags: ignoreversion
Source: "{#BundleDir}\counter-desk-cli.exe"; DestDir: "{app}"; Flags: ignoreversion
Source: "{#BundleDir}\_internal\*"; DestDir: "{app}\_internal"; Flags: ignoreversion recursesubdirs createallsubdirs
; the deployment file, when IT puts one beside the installer
Source: "{src}\counter-desk.toml"; DestDir: "{commonappdata}\counter-desk"; Flags: external skipifsourcedoesntexist onlyifdoesntexist uninsneveruninstall

[Dirs]
Name: "{commonappdata}\counter-desk"

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\卸载{#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "在桌面创建快捷方式"; Flags: unchecked

[Run]
Filename: "{app}\{#AppExe}"; Description: "启动{#AppName}"; Flags: nowait postinstall skipifsilent

[Code]
// Uninstall keeps the counter's data unless the person uninstalling asks for it to go:
// the encrypted cache may hold work not yet sent to the district.
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    if MsgBox('是否同时删除本机的柜台数据（加密缓存与设置）？' + #13#10 +
              '尚未上传到区里的内容将一并删除。一般请选择“否”。',
              mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
    begin
      DelTree(ExpandConstant('{commonappdata}\counter-desk\data'), True, True, True);
      DelTree(ExpandConstant('{localappdata}\counter-desk'), True, True, True);
    end;
end;
