/*
 * test-html.c - unit tests for html.c (HTML to text, meta charset, defang)
 *
 * DESCRIPTION
 *	Table-driven: each rendering case gives an HTML input and a link
 *	mode, and either the exact output (the layout is part of the
 *	interface) or substrings that must and must not appear.  Separate
 *	tables cover the statistics, mugai_html_defang_url() and
 *	mugai_html_meta_charset().  Hostile inputs (deep nesting, invalid
 *	UTF-8, controls, random markup) check the output invariants: valid
 *	UTF-8, no control character but newline and tab, at most max_output
 *	octets.
 */
#include "html.h"
#include "testutil.h"

#include <string.h>

#include <libxml/parser.h>

#define BIG (1024 * 1024)

/* Renders html (NUL-terminated) and checks the invariants every output
 * must meet.  Returns the owned text. */
static char *
render (const char *html, gsize len, MugaiLinkMode mode, gsize max, MugaiHtmlStats *stats)
{
  g_autoptr (GError) error = NULL;
  MugaiHtmlStats local;
  char *out = NULL;
  const char *p;

  g_assert_true (mugai_html_to_text (html, len, mode, max, &out, stats ? stats : &local, &error));
  g_assert_no_error (error);
  g_assert_nonnull (out);
  g_assert_cmpuint (strlen (out), <=, max);
  g_assert_true (g_utf8_validate (out, -1, NULL));
  for (p = out; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\n' || c == '\t')
        continue;
      g_assert_false (c < 0x20 || (c >= 0x7f && c <= 0x9f));
    }
  return out;
}

static char *
render_str (const char *html, MugaiLinkMode mode)
{
  return render (html, strlen (html), mode, BIG, NULL);
}

/* ---------------------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *html;
  MugaiLinkMode links;
  const char *expect;      /* exact output, or NULL */
  const char *contains[4]; /* substrings that must appear */
  const char *absent[6];   /* substrings that must not appear */
} TextCase;

#define D MUGAI_LINKS_DEFANG
#define S MUGAI_LINKS_SHOW
#define X MUGAI_LINKS_DROP

static const TextCase text_cases[] = {
  /* Blocks and white space */
  { .name = "paragraphs",
    .html = "<p>Hello   world</p><p>Second\npara</p>",
    .links = D,
    .expect = "Hello world\n\nSecond para\n" },
  { .name = "br",
    .html = "a<br>b<br><br>c<br><br><br>d",
    .links = D,
    .expect = "a\nb\n\nc\n\nd\n" },
  { .name = "div-lines",
    .html = "<div>one</div><div>two</div><div><br></div><div>three</div>",
    .links = D,
    .expect = "one\ntwo\n\nthree\n" },
  { .name = "inline-space",
    .html = "<div>  <span>a</span>  <b>b</b>\n<i>c</i>  </div>",
    .links = D,
    .expect = "a b c\n" },
  { .name = "no-leading-blank",
    .html = "<br><br><p></p><p>x</p><br><br>",
    .links = D,
    .expect = "x\n" },
  { .name = "headings",
    .html = "<h1>Title</h1><p>text</p><h2>見出し</h2><h3>Three</h3>x",
    .links = D,
    .expect = "Title\n=====\n\ntext\n\n見出し\n------\n\nThree\n\nx\n" },
  { .name = "hr", .html = "<div>a</div><hr><div>b</div>", .links = D, .expect = "a\n----\nb\n" },
  { .name = "blockquote",
    .html = "<blockquote><p>q1</p><p>q2</p></blockquote><p>after</p>",
    .links = D,
    .expect = "> q1\n>\n> q2\n\nafter\n" },
  { .name = "blockquote-nested",
    .html = "<blockquote>outer<blockquote>inner</blockquote>back</blockquote>",
    .links = D,
    .expect = "> outer\n>\n> > inner\n>\n> back\n" },
  { .name = "pre",
    .html = "<p>before</p><pre>  code\n    indented   \n\tx</pre><p>after   it</p>",
    .links = D,
    .expect = "before\n\n  code\n    indented\n\tx\n\nafter it\n" },
  { .name = "center-address",
    .html = "<center>c</center><address>a</address><section>s</section>",
    .links = D,
    .expect = "c\na\ns\n" },
  { .name = "dl",
    .html = "<dl><dt>Term<dd>Definition</dl>",
    .links = D,
    .expect = "Term\n  Definition\n" },
  /* Lists */
  { .name = "ul", .html = "<ul><li>one<li>two</ul>", .links = D, .expect = "- one\n- two\n" },
  { .name = "ul-nested",
    .html = "<ul><li>one<li>two<ul><li>nested<li>n2</ul><li>three</ul>",
    .links = D,
    .expect = "- one\n- two\n  - nested\n  - n2\n- three\n" },
  { .name = "ol", .html = "<ol><li>a<li>b<li>c</ol>", .links = D, .expect = "1. a\n2. b\n3. c\n" },
  { .name = "ol-start-nested",
    .html = "<ol start=3><li>a<li>b<ol><li>x</ol></ol>",
    .links = D,
    .expect = "3. a\n4. b\n   1. x\n" },
  { .name = "li-continuation",
    .html = "<ul><li>line1<br>line2</li></ul>",
    .links = D,
    .expect = "- line1\n  line2\n" },
  { .name = "li-empty", .html = "<ul><li></li><li>x</li></ul>", .links = D, .expect = "- x\n" },
  { .name = "list-around",
    .html = "<p>text</p><ul><li>a</ul><p>more</p>",
    .links = D,
    .expect = "text\n\n- a\n\nmore\n" },
  { .name = "list-in-quote",
    .html = "<blockquote><ul><li>a<li>b</ul></blockquote>",
    .links = D,
    .expect = "> - a\n> - b\n" },
  /* Tables */
  { .name = "table",
    .html = "<table><tr><th>Name<th>Qty</tr><tr><td>Apple<td>3</tr></table>",
    .links = D,
    .expect = "Name\tQty\nApple\t3\n" },
  { .name = "table-empty-cells",
    .html = "<table><tr><td><td>Q1<td>Q2<tr><td>Sales<td>10<td>20</table>",
    .links = D,
    .expect = "\tQ1\tQ2\nSales\t10\t20\n" },
  { .name = "table-around",
    .html = "<p>x</p><table><tr><td>a<td>b</table>y",
    .links = D,
    .expect = "x\n\na\tb\ny\n" },
  /* Entities and characters */
  { .name = "entities",
    .html = "<p>&amp; &lt;tag&gt; &#x65E5;&#26412; a&nbsp;&nbsp;b &quot;q&quot;</p>",
    .links = D,
    .expect = "& <tag> 日本 a b \"q\"\n" },
  { .name = "japanese",
    .html = "<p>見積書を送付します。</p>",
    .links = D,
    .expect = "見積書を送付します。\n" },
  { .name = "cjk-line-break",
    .html = "<p>見積書を\n送付します。\nabc\ndef 日本 語</p>",
    .links = D,
    .expect = "見積書を送付します。 abc def 日本 語\n" },
  { .name = "controls",
    .html = "<p>a\x01"
            "b\x7f"
            "c\xc2\x80"
            "d&#x9f;e\rf</p>",
    .links = D,
    .expect = "abcde f\n" },
  { .name = "invalid-utf8",
    .html = "<p>caf\xe9 日本</p>",
    .links = D,
    .expect = "caf\xef\xbf\xbd 日本\n" },
  { .name = "meta-charset-ignored",
    .html = "<meta charset=\"iso-8859-1\"><p>日本語</p>",
    .links = D,
    .expect = "日本語\n" },
  { .name = "meta-charset-sjis",
    .html = "<meta http-equiv=Content-Type content=\"text/html; charset=Shift_JIS\">"
            "<p>日本語</p>",
    .links = D,
    .expect = "日本語\n" },
  { .name = "ruby",
    .html = "<ruby>漢<rp>(</rp><rt>かん</rt><rp>)</rp></ruby>字",
    .links = D,
    .expect = "漢(かん)字\n" },
  /* Images */
  { .name = "img-alt",
    .html = "<img alt=\"logo\"> <img alt=\"\"> <img alt=\" &nbsp; \"> <img src=x> text",
    .links = D,
    .expect = "[logo] text\n" },
  { .name = "img-alt-entities",
    .html = "<p>A<img alt=\"a &amp; b\">B</p>",
    .links = D,
    .expect = "A[a & b]B\n" },
  /* Dropped content */
  { .name = "head-script-style",
    .html = "<html><head><title>SECRET-TITLE</title><style>p{color:red}</style>"
            "<script>alert('SCRIPT')</script><meta name=x content=META><link rel=stylesheet href=x>"
            "<base href=\"https://base.example/\"></head><body><p>visible</p></body></html>",
    .links = D,
    .expect = "visible\n",
    .absent = { "SECRET", "color", "SCRIPT", "META", "base" } },
  { .name = "body-script",
    .html = "<p>a<script>document.write('SCRIPT')</script>b</p><style>x{}</style>",
    .links = D,
    .expect = "ab\n" },
  { .name = "comments",
    .html = "<p>a<!-- COMMENT -->b</p><!--[if mso]>MSO<![endif]--><?php echo 'PI' ?>",
    .links = D,
    .expect = "ab\n" },
  { .name = "frames-objects",
    .html
    = "<p>x</p><iframe src=a>IFRAME</iframe><object data=a>OBJECT<param name=a value=b></object>"
      "<applet code=a>APPLET</applet><template>TEMPLATE</template>"
      "<frameset><frame src=b></frameset><p>y</p>",
    .links = D,
    .contains = { "x", "y" },
    .absent = { "IFRAME", "OBJECT", "APPLET", "TEMPLATE" } },
  { .name = "embed-void", .html = "<p>a<embed src=x>b</p>", .links = D, .expect = "ab\n" },
  { .name = "svg-math",
    .html = "<p>a<svg><script>SCRIPT</script><text>SVGTEXT</text></svg>b<math>MATH</math></p>",
    .links = D,
    .expect = "ab\n" },
  { .name = "noscript-kept",
    .html = "<noscript>Enable scripts</noscript>",
    .links = D,
    .expect = "Enable scripts\n" },
  { .name = "form",
    .html = "<form action=\"https://evil.example/steal\"><p>Password:</p>"
            "<input type=password name=p value=VALUE><button>BUTTON</button>"
            "<select><option>OPTION</option></select><textarea>TEXTAREA</textarea>"
            "<label>Label text</label></form>",
    .links = D,
    .expect = "Password:\n\nLabel text\n",
    .absent = { "VALUE", "BUTTON", "OPTION", "TEXTAREA", "evil" } },
  /* Office HTML */
  { .name = "mso-paragraphs",
    .html = "<p class=MsoNormal>line1<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
            "<p class=MsoNormal>line2<o:p></o:p></p><p class=MsoNormal>line3<o:p></o:p></p>",
    .links = D,
    .expect = "line1\n\nline2\nline3\n" },
  { .name = "mso-conditional",
    .html
    = "<p class=MsoListParagraph><![if !supportLists]><span>1.<span>&nbsp;&nbsp; </span></span>"
      "<![endif]>Item</p>",
    .links = D,
    .expect = "1. Item\n" },
  { .name = "mso-conditional-in-attribute",
    .html = "<a href=\"https://e.example/<![endif]>\">x</a><!--[if mso]>MSO<![endif]-->",
    .links = S,
    .expect = "x [https://e.example/<!%5Bendif%5D>]\n" },
  /* Malformed */
  { .name = "unclosed",
    .html = "<p>unclosed <b>bold <i>italic</p></p></div>stray</span><p>next",
    .links = D,
    .expect = "unclosed bold italic\n\nstray\n\nnext\n" },
  { .name = "stray-end-tags",
    .html = "</p></div></td>text</table></ul>",
    .links = D,
    .expect = "text\n" },
  { .name = "unclosed-comment",
    .html = "<p>a</p><!-- never closed <p>b</p>",
    .links = D,
    .contains = { "a" },
    .absent = { "b" } },
  { .name = "lt-in-text", .html = "<p>a < b > c</p>", .links = D, .expect = "a < b > c\n" },
  { .name = "second-html",
    .html = "<body><p>x</p></body></html><p>after</p></html>trailing",
    .links = D,
    .expect = "x\n\nafter\n\ntrailing\n" },
  /* Links */
  { .name = "link-defang",
    .html = "<p>See <a href=\"https://example.com/path?a=1\">the site</a> now.</p>",
    .links = D,
    .expect = "See the site [hxxps://example[.]com/path?a=1] now.\n" },
  { .name = "link-show",
    .html = "<p>See <a href=\"https://example.com/path\">the site</a> now.</p>",
    .links = S,
    .expect = "See the site [https://example.com/path] now.\n" },
  { .name = "link-drop",
    .html = "<p>See <a href=\"https://example.com/path\">the site</a> now.</p>",
    .links = X,
    .expect = "See the site now.\n" },
  { .name = "link-self-defang",
    .html = "<a href=\"https://example.com/x\">https://example.com/x</a>",
    .links = D,
    .expect = "hxxps://example[.]com/x\n" },
  { .name = "link-self-show",
    .html = "<a href=\"https://example.com/x/\">HTTPS://EXAMPLE.COM/x</a>",
    .links = S,
    .expect = "https://example.com/x/\n" },
  { .name = "link-self-in-list",
    .html = "<ul><li><a href=\"https://a.example/\">https://a.example/</a></ul>",
    .links = D,
    .expect = "- hxxps://a[.]example/\n" },
  { .name = "link-self-drop",
    .html = "<a href=\"https://example.com/x\">https://example.com/x</a>",
    .links = X,
    .expect = "https://example.com/x\n" },
  { .name = "mismatch-defang",
    .html = "<a href=\"https://evil.example/login\">https://bank.example.jp</a>",
    .links = D,
    .expect = "https://bank.example.jp [(!) hxxps://evil[.]example/login]\n" },
  { .name = "mismatch-show",
    .html = "<a href=\"https://evil.example/login\">https://bank.example.jp</a>",
    .links = S,
    .expect = "https://bank.example.jp [(!) https://evil.example/login]\n" },
  { .name = "mismatch-drop",
    .html = "<a href=\"https://evil.example/login\">https://bank.example.jp</a>",
    .links = X,
    .expect = "https://bank.example.jp\n" },
  { .name = "mismatch-bare-host",
    .html = "<a href=\"https://evil.example/\">bank.example.jp</a>",
    .links = D,
    .expect = "bank.example.jp [(!) hxxps://evil[.]example/]\n" },
  { .name = "mismatch-www",
    .html = "<a href=\"https://evil.example/\">www.bank.jp</a>",
    .links = D,
    .expect = "www.bank.jp [(!) hxxps://evil[.]example/]\n" },
  { .name = "mismatch-fullwidth",
    .html = "<a href=\"https://evil.example/\">ｗｗｗ．ｂａｎｋ．ｊｐ</a>",
    .links = D,
    .expect = "ｗｗｗ．ｂａｎｋ．ｊｐ [(!) hxxps://evil[.]example/]\n" },
  { .name = "mismatch-userinfo",
    .html = "<a href=\"https://bank.example.jp@evil.example/\">https://bank.example.jp/</a>",
    .links = D,
    .expect = "https://bank.example.jp/ [(!) hxxps://bank.example.jp@evil[.]example/]\n" },
  { .name = "match-www-case",
    .html = "<a href=\"https://www.Bank.example.jp/login\">BANK.EXAMPLE.JP</a>",
    .links = D,
    .expect = "BANK.EXAMPLE.JP [hxxps://www[.]Bank[.]example[.]jp/login]\n" },
  { .name = "match-idn",
    .html = "<a href=\"http://xn--eckwd4c7c.jp/\">http://ドメイン.jp/</a>",
    .links = D,
    .expect = "http://ドメイン.jp/ [hxxp://xn--eckwd4c7c[.]jp/]\n" },
  { .name = "no-mismatch-words",
    .html = "<a href=\"https://evil.example/\">report.pdf</a> "
            "<a href=\"https://evil.example/\">Ver.2</a> "
            "<a href=\"https://evil.example/\">click here</a>",
    .links = D,
    .contains = { "report.pdf [hxxps", "Ver.2 [hxxps", "click here [hxxps" },
    .absent = { "(!)" } },
  { .name = "javascript",
    .html = "<a href=\"  java&#9;script:alert(1)\">click</a>",
    .links = D,
    .expect = "click [リンク（スクリプト）を削除しました]\n",
    .absent = { "alert", "javascript" } },
  { .name = "javascript-show",
    .html = "<a href=\"JavaScript:alert(1)\">click</a>",
    .links = S,
    .expect = "click [リンク（スクリプト）を削除しました]\n" },
  { .name = "javascript-drop",
    .html = "<a href=\"javascript:alert(1)\">click</a>",
    .links = X,
    .expect = "click\n" },
  { .name = "blocked-schemes",
    .html = "<a href=\"VBScript:x\">v</a> <a href=\"data:text/html,x\">d</a> "
            "<a href=\"file://server/share\">f</a> <a href=\"ms-msdt:/id x\">m</a>",
    .links = D,
    .expect
    = "v [リンク（スクリプト）を削除しました] d [リンク（スクリプト）を削除しました] f [file:] "
      "m [ms-msdt:]\n",
    .absent = { "server", "/id" } },
  { .name = "mailto",
    .html = "<a href=\"mailto:taro.yamada@city.example.jp?subject=a.b\">Mail</a>",
    .links = D,
    .expect = "Mail [mailto:taro.yamada[@]city[.]example[.]jp?subject=a.b]\n" },
  { .name = "mailto-address-text",
    .html = "<a href=\"mailto:info@evil.example\">info@city.example.jp</a>",
    .links = D,
    .expect = "info@city.example.jp [(!) mailto:info[@]evil[.]example]\n" },
  { .name = "relative",
    .html = "<a href=\"#top\">top</a> <a href=\"/rel/path.html\">rel</a> <a href=\"\">e</a>",
    .links = D,
    .expect = "top rel [/rel/path.html] e\n" },
  { .name = "image-link",
    .html = "<a href=\"https://x.example/\"><img src=a></a> "
            "<a href=\"https://x.example/\"><img alt=Logo></a>",
    .links = D,
    .expect = "[hxxps://x[.]example/] [Logo] [hxxps://x[.]example/]\n" },
  { .name = "href-framing",
    .html = "<a href=\"https://a.example/] [https://bank.jp\">x</a>",
    .links = S,
    .expect = "x [https://a.example/%5D%20%5Bhttps://bank.jp]\n" },
  { .name = "href-bidi",
    .html = "<a href=\"https://evil.example/\xe2\x80\xae/gpj.exe\">y</a>",
    .links = S,
    .expect = "y [https://evil.example/%E2%80%AE/gpj.exe]\n" },
  { .name = "href-idn-homograph",
    .html = "<a href=\"https://b\xd0\xb0nk.example.jp/\">here</a>",
    .links = S,
    .expect = "here [https://xn--bnk-6cd.example.jp/]\n" },
  { .name = "area",
    .html = "<map><area href=\"https://evil.example/\" alt=\"www.bank.jp\"></map>",
    .links = D,
    .expect = "www.bank.jp [(!) hxxps://evil[.]example/]\n" },
  { .name = "anchor-no-href", .html = "<a name=top>Top</a>", .links = D, .expect = "Top\n" },
};

static void
test_text_case (gconstpointer data)
{
  const TextCase *c = data;
  g_autofree char *out = render_str (c->html, c->links);
  gsize i;

  if (c->expect != NULL)
    g_assert_cmpstr (out, ==, c->expect);
  for (i = 0; i < G_N_ELEMENTS (c->contains) && c->contains[i] != NULL; i++)
    if (strstr (out, c->contains[i]) == NULL)
      g_error ("%s: \"%s\" not in output:\n%s", c->name, c->contains[i], out);
  for (i = 0; i < G_N_ELEMENTS (c->absent) && c->absent[i] != NULL; i++)
    if (strstr (out, c->absent[i]) != NULL)
      g_error ("%s: \"%s\" in output:\n%s", c->name, c->absent[i], out);
}

/* ---------------------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *html;
  guint links;
  guint mismatch;
  guint scripts;
  guint forms;
  guint images;
} StatsCase;

static const StatsCase stats_cases[] = {
  { "none", "<p>plain</p>", 0, 0, 0, 0, 0 },
  { "links", "<a href=x>1</a><a href=\"\">2</a><a name=n>3</a><a href=\"javascript:x\">4</a>", 3, 0,
    0, 0, 0 },
  { "mismatch",
    "<a href=\"https://evil.example/\">https://bank.jp/</a>"
    "<a href=\"https://bank.jp/x\">https://bank.jp/</a>"
    "<a href=\"javascript:x\">www.bank.jp</a>",
    3, 2, 0, 0, 0 },
  { "scripts",
    "<head><script>a</script><style>b</style></head><body><iframe></iframe><object></object>"
    "<embed><applet></applet><template></template><svg><script>c</script></svg></body>",
    0, 0, 8, 0, 0 },
  { "frameset", "<frameset><frame src=a><frame src=b></frameset>", 0, 0, 3, 0, 0 },
  { "forms", "<form><input></form><form><p>x</p></form>", 0, 0, 0, 2, 0 },
  { "images", "<img alt=a><img><p><img src=x alt=\"\"></p>", 0, 0, 0, 0, 3 },
};

static void
test_stats_case (gconstpointer data)
{
  const StatsCase *c = data;
  MugaiHtmlStats st;
  g_autofree char *out = NULL;

  memset (&st, 0xff, sizeof st);
  out = render (c->html, strlen (c->html), MUGAI_LINKS_DEFANG, BIG, &st);
  g_assert_cmpuint (st.links, ==, c->links);
  g_assert_cmpuint (st.links_mismatch, ==, c->mismatch);
  g_assert_cmpuint (st.scripts, ==, c->scripts);
  g_assert_cmpuint (st.forms, ==, c->forms);
  g_assert_cmpuint (st.images, ==, c->images);
  g_assert_false (st.truncated);
}

/* ---------------------------------------------------------------------- */

typedef struct
{
  const char *in;
  const char *out;
} StringPair;

static const StringPair defang_cases[] = {
  { "https://example.com/path.html", "hxxps://example[.]com/path.html" },
  { "http://a.b.example.jp/", "hxxp://a[.]b[.]example[.]jp/" },
  { "HTTPS://Example.COM/a", "HXXPS://Example[.]COM/a" },
  { "Http://x.y", "Hxxp://x[.]y" },
  { "ftp://ftp.example.org/f.txt", "fxp://ftp[.]example[.]org/f.txt" },
  { "https://user.name:pw@host.example.jp:443/p?q=a.b#f.g",
    "hxxps://user.name:pw@host[.]example[.]jp:443/p?q=a.b#f.g" },
  { "mailto:taro.yamada@city.example.jp?subject=a.b&cc=x@y.jp",
    "mailto:taro.yamada[@]city[.]example[.]jp?subject=a.b&cc=x[@]y.jp" },
  { "mailto:a@b.jp,c@d.jp", "mailto:a[@]b[.]jp,c[@]d[.]jp" },
  { "MAILTO:a@b.jp", "MAILTO:a[@]b[.]jp" },
  { "http://[2001:db8::1]:8080/a.b", "hxxp://[2001:db8::1]:8080/a.b" },
  { "https:\\\\evil.com\\x.y", "hxxps:\\\\evil[.]com\\x.y" },
  { "https:evil.com", "hxxps:evil[.]com" },
  { "//cdn.example.com/x.js", "//cdn[.]example[.]com/x.js" },
  { "www.example.com/a.b", "www[.]example[.]com/a.b" },
  { "http://例え。テスト/", "hxxp://例え[.]テスト/" },
  { "ssh://git.example.com/r", "ssh://git[.]example[.]com/r" },
  { "tel:03.1234.5678", "tel:03.1234.5678" },
  { "/rel/x.html", "/rel/x.html" },
  { "#frag.x", "#frag.x" },
  { "", "" },
  { ":", ":" },
  { "http", "http" },
  { "http:", "hxxp:" },
  { "https://", "hxxps://" },
  { "https://@", "hxxps://@" },
  { "https://[", "hxxps://[" },
};

static void
test_defang (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (defang_cases); i++)
    {
      g_autofree char *out = mugai_html_defang_url (defang_cases[i].in);

      g_assert_cmpstr (out, ==, defang_cases[i].out);
    }
}

static void
test_defang_long (void)
{
  g_autoptr (GString) url = g_string_new ("https://");
  g_autofree char *out = NULL;
  gsize i;

  for (i = 0; i < 100000; i++)
    g_string_append (url, "a.");
  g_string_append (url, "jp/");
  out = mugai_html_defang_url (url->str);
  g_assert_true (g_str_has_prefix (out, "hxxps://a[.]a[.]"));
  g_assert_true (g_str_has_suffix (out, "a[.]jp/"));
  g_assert_cmpuint (strlen (out), ==, url->len + 2 * 100000);
}

static const StringPair meta_cases[] = {
  { "<meta charset=\"Shift_JIS\">", "shift_jis" },
  { "<META CHARSET='EUC-JP'>", "euc-jp" },
  { "<meta charset=iso-2022-jp>", "iso-2022-jp" },
  { "<meta charset = \" utf-8 \" >", "utf-8" },
  { "<meta/charset=gb2312>", "gb2312" },
  { "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">", "shift_jis" },
  { "<meta content=\"text/html;charset=euc-jp\" http-equiv=content-type>", "euc-jp" },
  { "<meta http-equiv='CONTENT-TYPE' content='text/html; charset=\"windows-31j\"'>",
    "windows-31j" },
  { "<meta http-equiv=Content-Type content=\"text/html; CHARSET = iso-2022-jp ; x\">",
    "iso-2022-jp" },
  { "<html><head>\n<title>x</title>\n<meta charset=utf-8>", "utf-8" },
  { "<meta charset=\"utf-16le\">", "utf-8" },
  { "<meta content=\"text/html; charset=utf-8\">", NULL },
  { "<meta http-equiv=refresh content=\"0; charset=koi8-r\">", NULL },
  { "<!-- <meta charset=koi8-r> --><meta charset=utf-8>", "utf-8" },
  { "<img alt=\"<meta charset=koi8-r>\"><meta charset=big5>", "big5" },
  { "<meta charset=\"a;rm -rf\">", NULL },
  { "<meta charset=\"x\xe3\x81\x82\">", NULL },
  { "<meta charset=\"\">", NULL },
  { "<meta charset=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">", NULL },
  { "<meta charset=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
  { "<metadata charset=x>", NULL },
  { "<meta charset=\"", NULL },
  { "<meta", NULL },
  { "<", NULL },
  { "", NULL },
  { "<p>no meta here</p>", NULL },
};

static void
test_meta_charset (void)
{
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (meta_cases); i++)
    {
      g_autofree char *cs = mugai_html_meta_charset (meta_cases[i].in, strlen (meta_cases[i].in));

      g_assert_cmpstr (cs, ==, meta_cases[i].out);
    }
  g_assert_null (mugai_html_meta_charset (NULL, 0));
}

/* Only the first 4096 octets count: a tag ending exactly there is found,
 * one octet later it is not. */
static void
test_meta_charset_window (void)
{
  static const char tag[] = "<meta charset=koi8-r>";
  gsize pad;

  for (pad = 4096 - strlen (tag); pad <= 4096 - strlen (tag) + 1; pad++)
    {
      g_autoptr (GString) doc = g_string_new (NULL);
      g_autofree char *cs = NULL;

      while (doc->len < pad)
        g_string_append_c (doc, ' ');
      g_string_append (doc, tag);
      cs = mugai_html_meta_charset (doc->str, doc->len);
      if (pad + strlen (tag) <= 4096)
        g_assert_cmpstr (cs, ==, "koi8-r");
      else
        g_assert_null (cs);
    }
}

/* ---------------------------------------------------------------------- */

static void
test_empty (void)
{
  const char *inputs[]
      = { "", "   ", " \n\t\r\n ", "<!-- only a comment -->", "<p></p>", "<script>x</script>" };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      MugaiHtmlStats st;
      g_autofree char *out = render (inputs[i], strlen (inputs[i]), MUGAI_LINKS_DEFANG, BIG, &st);

      g_assert_cmpstr (out, ==, "");
      g_assert_false (st.truncated);
    }

  {
    g_autofree char *out = render (NULL, 0, MUGAI_LINKS_DEFANG, BIG, NULL);

    g_assert_cmpstr (out, ==, "");
  }
}

/* NUL octets inside the declared length are not an end of input. */
static void
test_embedded_nul (void)
{
  static const char html[] = "<p>a\0b</p><p>after</p>";
  g_autofree char *out = render (html, sizeof html - 1, MUGAI_LINKS_DEFANG, BIG, NULL);

  g_assert_cmpstr (out, ==,
                   "a\xef\xbf\xbd"
                   "b\n\nafter\n");
}

/* Cut at every possible limit: always a prefix of the full text, never
 * inside a character, flagged. */
static void
test_truncation (void)
{
  const char *html = "<p>見積書を送付します。</p><p>ご確認ください。</p>";
  g_autofree char *full = render_str (html, MUGAI_LINKS_DEFANG);
  gsize full_len = strlen (full);
  gsize max;

  g_assert_cmpstr (full, ==, "見積書を送付します。\n\nご確認ください。\n");
  for (max = 0; max <= full_len + 1; max++)
    {
      MugaiHtmlStats st;
      g_autofree char *out = render (html, strlen (html), MUGAI_LINKS_DEFANG, max, &st);
      gsize len = strlen (out);

      /* A cut line still ends with a newline when there is room for it. */
      if (len > 0 && out[len - 1] == '\n')
        len--;
      g_assert_true (strncmp (out, full, len) == 0);
      if (max >= full_len)
        {
          g_assert_cmpstr (out, ==, full);
          g_assert_false (st.truncated);
        }
      else if (max < full_len - 1)
        g_assert_true (st.truncated);
    }

  /* Statistics cover what comes after the cut too. */
  {
    const char *tail = "<p>text</p><script>x</script><a href=\"https://e.example/\">www.bank.jp</a>"
                       "<form></form><img alt=a>";
    MugaiHtmlStats st;
    g_autofree char *out = render (tail, strlen (tail), MUGAI_LINKS_DEFANG, 2, &st);

    g_assert_cmpstr (out, ==, "te");
    g_assert_true (st.truncated);
    g_assert_cmpuint (st.scripts, ==, 1);
    g_assert_cmpuint (st.links, ==, 1);
    g_assert_cmpuint (st.links_mismatch, ==, 1);
    g_assert_cmpuint (st.forms, ==, 1);
    g_assert_cmpuint (st.images, ==, 1);
  }
  {
    MugaiHtmlStats st;
    g_autofree char *out = render (html, strlen (html), MUGAI_LINKS_DEFANG, 10, &st);

    /* "見積書" is 9 octets; the 4th character would need 12. */
    g_assert_cmpstr (out, ==, "見積書\n");
    g_assert_true (st.truncated);
  }
  {
    MugaiHtmlStats st;
    g_autofree char *out = render (html, strlen (html), MUGAI_LINKS_DEFANG, 6, &st);

    /* No room for the newline. */
    g_assert_cmpstr (out, ==, "見積");
    g_assert_true (st.truncated);
  }
  {
    MugaiHtmlStats st;
    g_autofree char *out = render (html, strlen (html), MUGAI_LINKS_DEFANG, 5, &st);

    g_assert_cmpstr (out, ==, "見\n");
    g_assert_true (st.truncated);
  }
}

static char *
nested (const char *open, const char *inner, const char *close, guint n)
{
  GString *s = g_string_new ("<p>start</p>");
  guint i;

  for (i = 0; i < n; i++)
    g_string_append (s, open);
  g_string_append (s, inner);
  for (i = 0; i < n; i++)
    g_string_append (s, close);
  g_string_append (s, "<p>end</p>");
  return g_string_free (s, FALSE);
}

/* libxml2 2.9 stops building the tree at depth 256; what is lost must be
 * reported as truncation, and nothing may crash or take long. */
static void
test_deep_nesting (void)
{
  const char *tags[][2] = {
    { "<div>", "</div>" },
    { "<b>", "</b>" },
    { "<blockquote>", "</blockquote>" },
    { "<ul><li>", "</li></ul>" },
    { "<table><tr><td>", "</td></tr></table>" },
    { "<a href=\"https://e.example/\"><span>", "</span></a>" },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      g_autofree char *html = nested (tags[i][0], "deep", tags[i][1], 100000);
      MugaiHtmlStats st;
      g_autofree char *out = render (html, strlen (html), MUGAI_LINKS_DEFANG, BIG, &st);

      g_assert_true (g_str_has_prefix (out, "start"));
      g_assert_true (st.truncated);
    }

  /* Unclosed: no end tags at all. */
  {
    g_autofree char *html = nested ("<div>", "deep", "", 100000);
    MugaiHtmlStats st;
    g_autofree char *out = render (html, strlen (html), MUGAI_LINKS_DEFANG, BIG, &st);

    g_assert_true (g_str_has_prefix (out, "start"));
    g_assert_true (st.truncated);
  }
}

/* Within libxml2's limit the whole document renders, indentation capped. */
static void
test_moderate_nesting (void)
{
  g_autofree char *quotes = nested ("<blockquote>", "deep", "</blockquote>", 100);
  g_autofree char *lists = nested ("<ul><li>", "deep", "</li></ul>", 60);
  MugaiHtmlStats st;
  g_autofree char *out = render (quotes, strlen (quotes), MUGAI_LINKS_DEFANG, BIG, &st);
  g_autofree char *out2 = NULL;
  const char *line;

  g_assert_false (st.truncated);
  g_assert_true (g_str_has_prefix (out, "start\n\n"));
  g_assert_true (g_str_has_suffix (out, "\n\nend\n"));
  line = strstr (out, "deep");
  g_assert_nonnull (line);
  /* 32 levels of "> " at most. */
  while (line > out && line[-1] != '\n')
    line--;
  g_assert_cmpuint (strchr (line, '\n') - line, ==, 64 + strlen ("deep"));

  out2 = render (lists, strlen (lists), MUGAI_LINKS_DEFANG, BIG, &st);
  g_assert_false (st.truncated);
  g_assert_nonnull (strstr (out2, "- - - deep"));
  g_assert_true (g_str_has_suffix (out2, "\nend\n"));
}

/* A huge text node (over libxml2's 10 MB limit) is reported. */
static void
test_huge_text (void)
{
  gsize n = 11 * 1024 * 1024;
  g_autofree char *html = g_malloc (n + 1);
  MugaiHtmlStats st;
  g_autofree char *out = NULL;

  memcpy (html, "<p>", 3);
  memset (html + 3, 'a', n - 3);
  html[n] = '\0';
  out = render (html, n, MUGAI_LINKS_DEFANG, 100, &st);
  g_assert_true (st.truncated);
  g_assert_cmpuint (strlen (out), <=, 100);
}

/* Random markup: the output invariants hold, nothing crashes. */
static void
test_random (void)
{
  static const char *const atoms[] = {
    "<p>",
    "</p>",
    "<div>",
    "<br>",
    "<li>",
    "<ul>",
    "<ol>",
    "</li>",
    "<table>",
    "<tr>",
    "<td>",
    "<pre>",
    "</pre>",
    "<a href=\"https://x.example/\">",
    "<a href=\"javascript:x\">",
    "</a>",
    "<blockquote>",
    "</blockquote>",
    "<h1>",
    "</h1>",
    "<img alt=\"i\">",
    "<script>",
    "</script>",
    "<!--",
    "-->",
    "<![if x]>",
    "<![endif]>",
    "<o:p>",
    "&nbsp;",
    "&#x1;",
    "&amp;",
    " ",
    "\n",
    "\r",
    "\t",
    "\f",
    "\x01",
    "\xff",
    "\xe3\x81",
    "日本",
    "www.bank.jp",
    "text",
    "<",
    ">",
    "\"",
    "<hr>",
    "<dd>",
    "<rt>",
    "<form>",
    "<input>",
    "<embed>",
    "<p class=MsoNormal>",
    "<svg>",
  };
  guint iter;

  for (iter = 0; iter < 300; iter++)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      guint n = g_test_rand_int_range (0, 200);
      guint i;
      MugaiLinkMode mode = g_test_rand_int_range (0, 3);
      gsize max = g_test_rand_bit () ? BIG : (gsize)g_test_rand_int_range (0, 64);

      for (i = 0; i < n; i++)
        g_string_append (s, atoms[g_test_rand_int_range (0, G_N_ELEMENTS (atoms))]);
      g_free (render (s->str, s->len, mode, max, NULL));
    }
}

static void
test_error_quark (void)
{
  g_assert_cmpstr (g_quark_to_string (MUGAI_HTML_ERROR), ==, "mugai-html-error-quark");
}

/* ---------------------------------------------------------------------- */
/* Issue 10: URLs written as text, and script links (mugai_html_render) */

static char *
render_opts (const char *html, MugaiLinkMode links, MugaiTextLinks text_links, gboolean english)
{
  const MugaiHtmlOptions o
      = { .links = links, .text_links = text_links, .english = english, .max_output = BIG };
  g_autoptr (GError) error = NULL;
  char *out = NULL;

  g_assert_true (mugai_html_render (html, strlen (html), &o, &out, NULL, &error));
  g_assert_no_error (error);
  return out;
}

typedef struct
{
  const char *html;
  MugaiLinkMode links;
  MugaiTextLinks text_links;
  gboolean english;
  const char *expect;
} RenderCase;

static const RenderCase render_cases[] = {
  /* outside a link: defanged like a target */
  { "<p>Log in at https://evil.example/login now.</p>", MUGAI_LINKS_DEFANG, MUGAI_TEXT_LINKS_DEFANG,
    FALSE, "Log in at hxxps://evil[.]example/login now.\n" },
  { "<p>see www.evil.example/x, and HTTP://Evil.Example</p>", MUGAI_LINKS_DEFANG,
    MUGAI_TEXT_LINKS_DEFANG, FALSE, "see www[.]evil[.]example/x, and HXXP://Evil[.]Example\n" },
  /* Japanese right after the URL is not part of it */
  { "<p>詳細はhttps://example.jp/aをご覧ください。</p>", MUGAI_LINKS_SHOW, MUGAI_TEXT_LINKS_DEFANG,
    FALSE, "詳細はhxxps://example[.]jp/aをご覧ください。\n" },
  /* the text of a link to elsewhere is text: defanged too; the target
   * follows the link mode */
  { "<a href=\"https://evil.example/\">https://bank.example.jp/</a>", MUGAI_LINKS_SHOW,
    MUGAI_TEXT_LINKS_DEFANG, FALSE, "hxxps://bank[.]example[.]jp/ [(!) https://evil.example/]\n" },
  { "<a href=\"https://example.jp/x\">https://example.jp/x</a>", MUGAI_LINKS_DEFANG,
    MUGAI_TEXT_LINKS_DEFANG, FALSE, "hxxps://example[.]jp/x\n" },
  /* keep: as written */
  { "<p>Log in at https://evil.example/login now.</p>", MUGAI_LINKS_DEFANG, MUGAI_TEXT_LINKS_KEEP,
    FALSE, "Log in at https://evil.example/login now.\n" },
  /* script links say what was removed, in the notice's language */
  { "<a href=\"javascript:alert(1)\">click</a>", MUGAI_LINKS_DEFANG, MUGAI_TEXT_LINKS_DEFANG, FALSE,
    "click [リンク（スクリプト）を削除しました]\n" },
  { "<a href=\"java&#9;script:alert(1)\">click</a> <a href=\"data:text/html,x\">d</a>",
    MUGAI_LINKS_DEFANG, MUGAI_TEXT_LINKS_DEFANG, TRUE,
    "click [script link removed] d [script link removed]\n" },
  { "<a href=\"file://server/share\">f</a>", MUGAI_LINKS_DEFANG, MUGAI_TEXT_LINKS_DEFANG, TRUE,
    "f [file:]\n" },
};

static void
test_render_options (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (render_cases); i++)
    {
      const RenderCase *c = &render_cases[i];
      g_autofree char *out = render_opts (c->html, c->links, c->text_links, c->english);

      g_test_message ("render case %" G_GSIZE_FORMAT, i);
      g_assert_cmpstr (out, ==, c->expect);
    }
}

/* mugai_url_defang_text(): what a client would link, and only that. */
static const struct
{
  const char *in, *out;
} text_url_cases[] = {
  { "no url here", "no url here" },
  { "https://example.com/path.html", "hxxps://example[.]com/path.html" },
  { "(see http://a.example.jp/x).", "(see hxxp://a[.]example[.]jp/x)." },
  { "http://w.example/wiki/A_(b)", "hxxp://w[.]example/wiki/A_(b)" },
  { "<https://a.example/>", "<hxxps://a[.]example/>" },
  { "ftp://files.example.jp/a.zip", "fxp://files[.]example[.]jp/a.zip" },
  { "www.example.co.jp", "www[.]example[.]co[.]jp" },
  { "a.www.example.jp xwww.example.jp", "a.www.example.jp xwww.example.jp" },
  { "hxxps://example[.]com", "hxxps://example[.]com" },
  { "shttps://x.example", "shttps://x.example" },
  { "https://", "hxxps://" },
  { "URL:https://a.example/?q=1&r=2#f\n次の行", "URL:hxxps://a[.]example/?q=1&r=2#f\n次の行" },
  { "www.", "www." },
};

static void
test_defang_text (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (text_url_cases); i++)
    {
      gboolean changed = FALSE;
      g_autofree char *out
          = mugai_url_defang_text (text_url_cases[i].in, strlen (text_url_cases[i].in), &changed);

      g_assert_cmpstr (out, ==, text_url_cases[i].out);
      g_assert_cmpint (changed, ==, strcmp (text_url_cases[i].in, text_url_cases[i].out) != 0);
    }
}

/* Bounds (mugai_html_render with options->bounds): the cost falls on the part */

static gboolean
render_bounded (const char *html, const MugaiHtmlBounds *bounds, char **out, GError **error)
{
  const MugaiHtmlOptions o = { .links = MUGAI_LINKS_DEFANG, .max_output = BIG, .bounds = bounds };
  return mugai_html_render (html, strlen (html), &o, out, NULL, error);
}

static char *
tag_with_attributes (const char *before, guint n, const char *after)
{
  GString *s = g_string_new (before);
  g_string_append (s, "<p");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, " a%u=\"v\"", i);
  g_string_append (s, ">text</p>");
  g_string_append (s, after);
  return g_string_free (s, FALSE);
}

static void
test_bounded_attributes (void)
{
  MugaiHtmlBounds bounds = { .max_attributes = 100 };
  g_autoptr (GError) error = NULL;
  char *out = NULL;

  g_autofree char *at_limit = tag_with_attributes ("<body>", 100, "</body>");
  g_assert_true (render_bounded (at_limit, &bounds, &out, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (out, ==, "text\n");
  g_clear_pointer (&out, g_free);

  g_autofree char *over = tag_with_attributes ("<body>", 101, "</body>");
  g_assert_false (render_bounded (over, &bounds, &out, &error));
  g_assert_error (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_ATTRIBUTES);
  g_assert_cmpstr (error->message, ==, "an HTML element with more than 100 attributes");
  g_assert_null (out);
  g_clear_error (&error);

  /* A quote opened in script text hides the tag from the pre-scan, not
   * from the parser: the element is stopped before libxml2 builds it. */
  g_autofree char *hidden = tag_with_attributes ("<body><script>x<y z='</script>", 200, "'</body>");
  g_assert_false (render_bounded (hidden, &bounds, &out, &error));
  g_assert_error (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_ATTRIBUTES);
  g_clear_error (&error);

  /* no bounds: rendered as before */
  g_assert_true (render_bounded (over, NULL, &out, &error));
  g_assert_cmpstr (out, ==, "text\n");
  g_free (out);
}

static void
test_bounded_deadline (void)
{
  g_autoptr (GString) html = g_string_new ("<body>");
  while (html->len < 64 * 1024)
    g_string_append (html, "<p>a paragraph of an ordinary document</p>\n");
  g_string_append (html, "</body>");
  g_autoptr (GError) error = NULL;
  char *out = NULL;

  /* a deadline already past: stopped at the first read */
  MugaiHtmlBounds past = { .deadline = g_get_monotonic_time () - 1 };
  g_assert_false (render_bounded (html->str, &past, &out, &error));
  g_assert_error (error, MUGAI_HTML_ERROR, MUGAI_HTML_ERROR_BUDGET);
  g_assert_cmpstr (error->message, ==, "rendering the HTML took longer than its time budget");
  g_assert_null (out);
  g_clear_error (&error);

  /* an hour is plenty */
  MugaiHtmlBounds hour = { .deadline = g_get_monotonic_time () + (gint64)G_USEC_PER_SEC * 3600 };
  g_assert_true (render_bounded (html->str, &hour, &out, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (out, "a paragraph of an ordinary document\n\na paragraph"));
  g_free (out);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  xmlInitParser ();

  TESTUTIL_ADD_CASES ("/html/text", text_cases, name, test_text_case);
  TESTUTIL_ADD_CASES ("/html/stats", stats_cases, name, test_stats_case);
  g_test_add_func ("/html/defang/table", test_defang);
  g_test_add_func ("/html/defang/long", test_defang_long);
  g_test_add_func ("/html/meta-charset/table", test_meta_charset);
  g_test_add_func ("/html/meta-charset/window", test_meta_charset_window);
  g_test_add_func ("/html/limits/empty", test_empty);
  g_test_add_func ("/html/limits/embedded-nul", test_embedded_nul);
  g_test_add_func ("/html/limits/truncation", test_truncation);
  g_test_add_func ("/html/limits/deep-nesting", test_deep_nesting);
  g_test_add_func ("/html/limits/moderate-nesting", test_moderate_nesting);
  g_test_add_func ("/html/limits/huge-text", test_huge_text);
  g_test_add_func ("/html/limits/random", test_random);
  g_test_add_func ("/html/error-quark", test_error_quark);
  g_test_add_func ("/html/render-options", test_render_options);
  g_test_add_func ("/html/defang-text", test_defang_text);
  g_test_add_func ("/html/bounds/attributes", test_bounded_attributes);
  g_test_add_func ("/html/bounds/deadline", test_bounded_deadline);

  return g_test_run ();
}
