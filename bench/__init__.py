"""The reference load for pessoas: data generator, open-model load tool, report."""
