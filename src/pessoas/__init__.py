"""pessoas: stores and finds pessoas under heavy load."""
