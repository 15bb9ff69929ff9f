"""One route module per resource; each declares its permission with ``require``."""
