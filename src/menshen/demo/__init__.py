"""The demo firm "Formosa Pay": sample internal apps, users, policies, one command."""
