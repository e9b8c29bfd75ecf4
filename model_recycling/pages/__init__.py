"""Stage 5b, pages: the site (markdown and HTML), charts, model-card sections and their Hub pull
requests."""
