"""The Pessoa domain: the entity, its rules and the use cases. Standard library only."""
