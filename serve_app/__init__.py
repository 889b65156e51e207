"""reelserve's service core: ingress, API schemas, jobs, webhooks, storage. It knows no model."""
