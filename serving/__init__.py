"""Serving side: TF Serving-compatible model server, clients, deployment files."""
