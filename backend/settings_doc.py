"""The configuration reference, generated from the settings declarations."""

from __future__ import annotations


def markdown_table(model, prefix: str) -> str:
    rows = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        ann = getattr(field.annotation, "__name__", str(field.annotation))
        ann = ann.replace("|", "\\|")  # a bare | would end the cell
        default = field.default if field.default is not None else ""
        rows.append(f"| `{prefix}{name.upper()}` | {ann} | `{default}` | {field.description} |")
    return "\n".join(rows)
