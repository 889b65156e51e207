"""reelserve's service: ingress, jobs, dispatcher, webhooks, and the server that hosts engines.

It knows no model: it reaches graphs and engines only through import paths in the config.
"""
