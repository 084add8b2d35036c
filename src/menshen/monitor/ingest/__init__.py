"""Event ingestion: every source mapped to ``ObservedEvent`` and handed to an ``EventSink``."""
