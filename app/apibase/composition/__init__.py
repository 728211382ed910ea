"""The composition root's helpers: translations from settings to the configuration each part of the app takes."""
