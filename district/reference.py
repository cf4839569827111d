"""Reference data of the demo district: the streets and towns of 长宁 and 闵行 with their codes
(modelled on the statistical division codes: district code + 3 digits), a few roads each for
addresses, and the medical institutions fee rows come from (some outside Shanghai)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreetInfo:
    code: str
    name: str
    district: str  # the policy overlay: changning | minhang
    slug: str  # user names: huayang.clerk1
    roads: tuple[str, ...]

    @property
    def kind(self) -> str:
        return "town" if self.name.endswith("镇") else "street"

    @property
    def short_name(self) -> str:
        return self.name.removesuffix("街道").removesuffix("镇")


DISTRICT_NAMES = {"changning": "长宁区", "minhang": "闵行区"}
DISTRICT_REGION = {"changning": "310105", "minhang": "310112"}

STREETS: tuple[StreetInfo, ...] = (
    StreetInfo("310105001", "华阳路街道", "changning", "huayang",
               ("华阳路", "长宁路", "安化路", "镇宁路", "武夷路")),
    StreetInfo("310105002", "江苏路街道", "changning", "jiangsu",
               ("江苏路", "愚园路", "武定西路", "长宁路")),
    StreetInfo("310105004", "新华路街道", "changning", "xinhua",
               ("新华路", "番禺路", "法华镇路", "定西路", "淮海西路")),
    StreetInfo("310105005", "周家桥街道", "changning", "zhoujiaqiao",
               ("长宁路", "中山西路", "万航渡路", "凯旋路", "华院路")),
    StreetInfo("310105006", "天山路街道", "changning", "tianshan",
               ("天山路", "遵义路", "娄山关路", "茅台路")),
    StreetInfo("310105008", "仙霞新村街道", "changning", "xianxia",
               ("仙霞路", "虹古路", "威宁路", "水城路")),
    StreetInfo("310105009", "虹桥街道", "changning", "hongqiao",
               ("虹桥路", "古北路", "延安西路", "伊犁路", "红宝石路")),
    StreetInfo("310105010", "程家桥街道", "changning", "chengjiaqiao",
               ("虹桥路", "哈密路", "程家桥路", "虹梅路")),
    StreetInfo("310105011", "北新泾街道", "changning", "beixinjing",
               ("北渔路", "平塘路", "剑河路", "哈密路")),
    StreetInfo("310105102", "新泾镇", "changning", "xinjing",
               ("天山西路", "淞虹路", "福泉路", "协和路", "金钟路")),
    StreetInfo("310112001", "江川路街道", "minhang", "jiangchuan",
               ("江川路", "沧源路", "华坪路", "东川路", "鹤庆路")),
    StreetInfo("310112006", "古美路街道", "minhang", "gumei",
               ("古美路", "平阳路", "万源路", "古龙路")),
    StreetInfo("310112008", "新虹街道", "minhang", "xinhong",
               ("申长路", "申虹路", "七莘路", "甬虹路")),
    StreetInfo("310112009", "浦锦街道", "minhang", "pujin",
               ("浦锦路", "浦星公路", "丰南路", "芦恒路")),
    StreetInfo("310112101", "莘庄镇", "minhang", "xinzhuang",
               ("莘建路", "沁春路", "莘松路", "都市路", "莘谭路")),
    StreetInfo("310112102", "七宝镇", "minhang", "qibao",
               ("青年路", "漕宝路", "七莘路", "新镇路", "中春路")),
    StreetInfo("310112103", "颛桥镇", "minhang", "zhuanqiao",
               ("都市路", "颛兴路", "银都路", "北松公路")),
    StreetInfo("310112106", "华漕镇", "minhang", "huacao",
               ("纪鹤路", "北翟路", "华江路", "诸光路")),
    StreetInfo("310112107", "虹桥镇", "minhang", "hongqiaozhen",
               ("虹梅路", "吴中路", "虹井路", "红松路")),
    StreetInfo("310112108", "梅陇镇", "minhang", "meilong",
               ("莲花南路", "梅陇路", "虹梅南路", "春申路", "朱梅路")),
    StreetInfo("310112110", "吴泾镇", "minhang", "wujing",
               ("龙吴路", "剑川路", "永德路", "虹梅南路")),
    StreetInfo("310112112", "马桥镇", "minhang", "maqiao",
               ("元江路", "北松公路", "银春路", "望江路")),
    StreetInfo("310112114", "浦江镇", "minhang", "pujiang",
               ("浦星公路", "陈行公路", "沈杜公路", "江月路")),
)
STREETS_BY_CODE = {s.code: s for s in STREETS}


@dataclass(frozen=True)
class InstitutionInfo:
    code: str  # 医保定点机构编码 style: H + region code + 5 digits
    name: str
    level: int
    province: str  # 2-digit province code: 31 is Shanghai; the first digits of the 票据代码

    @property
    def in_shanghai(self) -> bool:
        return self.province == "31"


_HOSPITALS: tuple[InstitutionInfo, ...] = (
    InstitutionInfo("H31010100011", "上海交通大学医学院附属瑞金医院", 3, "31"),
    InstitutionInfo("H31010400012", "复旦大学附属中山医院", 3, "31"),
    InstitutionInfo("H31010600013", "复旦大学附属华山医院", 3, "31"),
    InstitutionInfo("H31010400014", "上海市第六人民医院", 3, "31"),
    InstitutionInfo("H31010500015", "上海市同仁医院", 3, "31"),
    InstitutionInfo("H31011200016", "上海市第五人民医院", 3, "31"),
    InstitutionInfo("H31011200017", "复旦大学附属儿科医院", 3, "31"),
    InstitutionInfo("H31011500018", "上海交通大学医学院附属仁济医院", 3, "31"),
    InstitutionInfo("H31010500021", "上海市长宁区天山中医医院", 2, "31"),
    InstitutionInfo("H31010500022", "上海市光华中西医结合医院", 2, "31"),
    InstitutionInfo("H31010500023", "上海市长宁区妇幼保健院", 2, "31"),
    InstitutionInfo("H31010500024", "上海市长宁区精神卫生中心", 2, "31"),
    InstitutionInfo("H31011200025", "上海市闵行区中医医院", 2, "31"),
    InstitutionInfo("H31011200026", "上海市闵行区吴泾医院", 2, "31"),
    InstitutionInfo("H31011200027", "上海市闵行区精神卫生中心", 2, "31"),
    InstitutionInfo("H31011200028", "上海市闵行区浦江医院", 2, "31"),
    # Outside Shanghai: where returnees who supported other provinces often still get care.
    InstitutionInfo("H65010000031", "新疆医科大学第一附属医院", 3, "65"),
    InstitutionInfo("H65290100032", "阿克苏地区第一人民医院", 2, "65"),
    InstitutionInfo("H53010000033", "云南省第一人民医院", 3, "53"),
    InstitutionInfo("H53280100034", "西双版纳傣族自治州人民医院", 2, "53"),
    InstitutionInfo("H34010000035", "安徽省立医院", 3, "34"),
    InstitutionInfo("H36010000036", "江西省人民医院", 3, "36"),
    InstitutionInfo("H23010000037", "黑龙江省医院", 3, "23"),
    InstitutionInfo("H52010000038", "贵州省人民医院", 3, "52"),
)


def _community_centres() -> tuple[InstitutionInfo, ...]:
    centres = []
    for i, street in enumerate(STREETS, start=1):
        region = street.code[:6]
        centres.append(InstitutionInfo(f"H{region}{40 + i:05d}",
                                       f"{street.short_name}社区卫生服务中心", 1, "31"))
    return tuple(centres)


INSTITUTIONS: tuple[InstitutionInfo, ...] = _community_centres() + _HOSPITALS
