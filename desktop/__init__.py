"""医疗救助柜台: the counter application."""

# the program's version, as the district console shows it for each PC (pyproject.toml's)
APP_VERSION = "0.1.0"
