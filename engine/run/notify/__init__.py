"""Notifications: who is told what when a case moves, in which language and through which channel."""
