"""The HTML side of the linked-data site: templates, static assets and the renderer that joins them."""
