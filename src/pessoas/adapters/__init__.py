"""Adapters: the ports implemented over memory, PostgreSQL, Redis and RabbitMQ."""
