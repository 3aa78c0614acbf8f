"""What every part of the server shares: the errors it answers, request bodies, keys and
tokens, its public addresses, durable writes. Imports nothing of the server but ``config``."""
