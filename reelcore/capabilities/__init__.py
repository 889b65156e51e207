"""Request and result models of engine capabilities, shared by graphs and engines."""
