"""Data shipped with Layerbook: templates (graph files), the block library, icons and styles."""
