"""The application layer: the service's use cases, written against the ports and the domain only."""
