"""A scriptable authenticator app: otpauth URIs, TOTP/HOTP codes, QR codes, an encrypted vault."""
