"""PyInstaller's entry script: a plain file that starts the `desktop` package's main."""

from desktop.__main__ import main

raise SystemExit(main())
