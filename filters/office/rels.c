/*
 * rels.c - the relationships of an OPC part (ECMA-376 Part 2)
 *
 * DESCRIPTION
 *	rels_parse() reads "_rels/.rels" (the package's) or a part's
 *	"FOLDER/_rels/NAME.rels", loaded before, into a Rels: the list in
 *	file order and a map from Id to the first relationship of that Id.
 *	Each target is resolved against the source's folder (RFC 3986
 *	5.2) and percent-decoded into a part key (package.c's part_key());
 *	an external target, or one that leaves the package ("../../x"),
 *	has none.  A missing relationships part is an empty Rels.
 *
 * LIMITS
 *	Those of the package and of xml.c: the part was inflated under
 *	--max-entry, and relationships are counted by the entries that hold
 *	them.
 *
 * ERRORS
 *	xml_parse()'s (OFFICE_ERROR), for a relationships part that is not
 *	well-formed XML.
 */
#include "office.h"

static void
rel_free (gpointer p)
{
  Rel *rel = p;
  g_free (rel->type);
  g_free (rel->target);
  g_free (rel);
}

void
rels_free (Rels *rels)
{
  if (rels == NULL)
    return;
  g_ptr_array_unref (rels->list);
  g_hash_table_unref (rels->by_id);
  g_free (rels->base);
  g_free (rels);
}

/* "word/document.xml" -> "word/"; "" for the package. */
static char *
part_folder (const char *key)
{
  const char *slash = strrchr (key, '/');
  return slash != NULL ? g_strndup (key, (gsize)(slash - key + 1)) : g_strdup ("");
}

/* The relationships part of a part: "word/_rels/document.xml.rels". */
char *
rels_key (const char *source)
{
  g_autofree char *folder = part_folder (source);
  return g_strconcat (folder, "_rels/", source + strlen (folder), ".rels", NULL);
}

/* A relationship target resolved against the source's folder
 * (RFC 3986 5.2), as a folded key; NULL if it leaves the package. */
static char *
resolve_target (const char *base, const char *target)
{
  g_autofree char *unescaped = g_uri_unescape_string (target, NULL);
  const char *t = unescaped != NULL ? unescaped : target;
  g_autofree char *path = t[0] == '/' ? g_strdup (t + 1) : g_strconcat (base, t, NULL);
  g_auto (GStrv) segs = g_strsplit (path, "/", -1);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  for (guint i = 0; segs[i] != NULL; i++)
    {
      if (segs[i][0] == '\0' || strcmp (segs[i], ".") == 0)
        continue;
      if (strcmp (segs[i], "..") == 0)
        {
          if (out->len == 0)
            return NULL;
          g_ptr_array_remove_index (out, out->len - 1);
          continue;
        }
      g_ptr_array_add (out, segs[i]);
    }
  g_ptr_array_add (out, NULL);
  g_autofree char *joined = g_strjoinv ("/", (char **)out->pdata);
  return part_key (joined);
}

static XmlGo
rels_start (XmlRun *run, Ns ns, const char *local, const XmlAttrs *attrs)
{
  Rels *rels = run->user;
  if (ns != NS_PKGREL || strcmp (local, "Relationship") != 0)
    return XML_DESCEND;
  g_autofree char *id = xml_attr (attrs, NS_NONE, "Id");
  g_autofree char *type = xml_attr (attrs, NS_NONE, "Type");
  g_autofree char *target = xml_attr (attrs, NS_NONE, "Target");
  g_autofree char *mode = xml_attr (attrs, NS_NONE, "TargetMode");
  if (id == NULL || type == NULL || target == NULL)
    return XML_SKIP;
  Rel *rel = g_new0 (Rel, 1);
  const char *slash = strrchr (type, '/');
  rel->type = g_strdup (slash != NULL ? slash + 1 : type);
  if (mode == NULL || strcmp (mode, "External") != 0)
    rel->target = resolve_target (rels->base, target);
  g_ptr_array_add (rels->list, rel);
  if (!g_hash_table_contains (rels->by_id, id))
    g_hash_table_insert (rels->by_id, g_steal_pointer (&id), rel);
  return XML_SKIP;
}

static const XmlHandlers RELS_HANDLERS = { rels_start, NULL, NULL };

/* The relationships of source ("" for the package), loaded before;
 * empty when there are none. */
Rels *
rels_parse (Package *pkg, const char *source, GError **error)
{
  g_autoptr (Rels) rels = g_new0 (Rels, 1);
  rels->list = g_ptr_array_new_with_free_func (rel_free);
  rels->by_id = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  rels->base = part_folder (source);
  g_autofree char *key = source[0] == '\0' ? g_strdup ("_rels/.rels") : rels_key (source);
  GBytes *part = package_get (pkg, key);
  if (part != NULL && !xml_parse (part, &RELS_HANDLERS, rels, error))
    return NULL;
  return g_steal_pointer (&rels);
}

const char *
rels_target (Rels *rels, const char *id)
{
  Rel *rel = id != NULL ? g_hash_table_lookup (rels->by_id, id) : NULL;
  return rel != NULL ? rel->target : NULL;
}
