"""The pure domain layer: ID numbers, bank cards, phones and scanned receipt text as values.
No I/O, no Qt, no database; bad input raises `DomainError` naming the field, in Chinese too."""
