"""The PySide6 layer: windows and views that show what the services and the engine return.

It forwards and displays only: no business rule, no arithmetic on money, no SQL.
"""
