"""Reading a teacher's notes (Markdown, LaTeX, plain text) to find and check every formula in them."""
