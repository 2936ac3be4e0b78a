"""The .ltc stream format as docs/FORMAT.md specifies it: the full container (`container`: header, frame records,
end record) and the compact profile (`compact`). Bytes, sizes and checksums only: no model, no coder."""
