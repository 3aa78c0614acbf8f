"""A browser's screen: the screencast shared by everyone who wants the picture, and the live
view (page and websocket) built on it."""
