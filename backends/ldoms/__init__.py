"""Oracle VM Server for SPARC (Logical Domains): what `ldm` prints, turned into the model."""
