"""HTTP routes: thin functions that check input, call the server's logic and shape answers."""
