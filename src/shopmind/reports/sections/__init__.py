"""One module per report section. Each has ``TITLE``, ``ANCHOR`` (the section's id) and one
``build`` function taking what it reads and returning an HTML fragment, or None when the
section does not apply (the page then shows the module's one-line ``NOTE``)."""
