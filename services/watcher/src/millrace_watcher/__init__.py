"""Millrace landing watcher: a file dropped into the landing bucket becomes a data.arrived."""
