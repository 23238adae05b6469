"""Operations that change servers: Generate & Install as one transaction."""
