"""The printed forms: definitions under forms/, rendered with reportlab; xlsx with openpyxl."""
