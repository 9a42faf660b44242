"""Helpers shared by the tito commands."""
import sys

# Reading a notebook imports nbformat -> jsonschema, whose optional IRI-format checker
# (`rfc3987_syntax`) compiles a Lark grammar at import: 1-3 s on every tito command, for a
# format no notebook schema uses. Tell jsonschema it is absent (it then skips that one checker).
sys.modules.setdefault("rfc3987_syntax", None)
