"""Qt widgets: thin views over plain model objects. No maths here."""
