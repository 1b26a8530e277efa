"""Single sign-on through any OpenID Connect provider (README: Single sign-on)."""
