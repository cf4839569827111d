"""The printed forms: definitions under forms/, rendered by our PDF writer (reportlab reads the
fonts); xlsx with openpyxl."""
