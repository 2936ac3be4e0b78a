"""A shipped model ready to code: its files read and checked (`modelfile`), its numpy forward passes (`inference`),
and the registry that finds models by name, family and ladder and picks one per input (`registry`). No torch."""
