"""Typed requests and results of each engine capability, shared by the engines that implement
it and the graphs that call it, whichever model is behind them."""
