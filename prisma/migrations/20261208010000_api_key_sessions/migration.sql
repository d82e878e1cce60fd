-- Dashboard sessions held by the server: the cookie POST /v1/session sets held the API key itself,
-- so a copy of it (a shared computer, a profile backup, a proxy log) was a working key for the
-- key's whole life, and signing out only asked the browser to forget it. Now the cookie holds a
-- random session token (256 bits) of which only the SHA-256 digest is stored here; signing out
-- deletes the row, and a revoked key's sessions prove nothing (verify reads the key's row too).
-- Rows past expires_at are deleted a few at each sign-in; a key holds at most 100.
CREATE TABLE "api_key_sessions" (
    "id" UUID NOT NULL,
    "key_id" UUID NOT NULL,
    "digest" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "api_key_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_key_sessions_digest_key" ON "api_key_sessions"("digest");

-- CreateIndex
CREATE INDEX "api_key_sessions_key_id_created_at_idx" ON "api_key_sessions"("key_id", "created_at");

-- CreateIndex
CREATE INDEX "api_key_sessions_expires_at_idx" ON "api_key_sessions"("expires_at");

-- AddForeignKey
ALTER TABLE "api_key_sessions" ADD CONSTRAINT "api_key_sessions_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;
