"""Campaign files: their schema, loading and validation, templates and schedules."""
