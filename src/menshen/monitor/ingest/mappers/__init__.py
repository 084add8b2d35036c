"""Pure mappers from one raw record (a line of text or JSON) to one ``ObservedEvent``."""
