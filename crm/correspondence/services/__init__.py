"""Services of the correspondence app: templates, placeholders, sending, replies and bounces."""
