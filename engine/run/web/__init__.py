"""The web doors of the portal: citizen pages, the back office and the JSON API (Starlette)."""
