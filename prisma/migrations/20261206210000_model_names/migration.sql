-- Model versions can be deleted (DELETE /v1/models/:name/versions/:version). Numbering from the
-- highest version left gave a deleted newest version's number to the next registration, so a spec
-- naming {name, version} could silently train on another model. Each name now keeps the last number
-- it was given, here, even once every version is gone; registrations count up from it, one at a time
-- (the upsert holds the row until the registering transaction ends).
CREATE TABLE "model_names" (
  "project" TEXT NOT NULL,
  "name" TEXT NOT NULL,
  "last_version" INTEGER NOT NULL,
  CONSTRAINT "model_names_pkey" PRIMARY KEY ("project", "name")
);

INSERT INTO "model_names" ("project", "name", "last_version")
SELECT "project", "name", max("version") FROM "model_versions" GROUP BY "project", "name";
