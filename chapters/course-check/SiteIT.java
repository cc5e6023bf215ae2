import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;


import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.Keys;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.json.Json;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.InstanceOfAssertFactories.LIST;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/// The course site checks itself (run by `./mvnw verify -Psolutions` once the site is rendered into target/site):
/// every link and image resolves inside the site, nothing is loaded from another host, no chapter page shows
/// solution code, every chapter is on the start page with its boxes and neighbours and shows what its lesson
/// printed, every page loads in a real browser (headless Chromium, network blocked) without a failed resource or a
/// console error, every page passes axe-core's WCAG 2.1 A and AA rules (of the file pages, one of each kind: see
/// `audited`), every diagram says what it shows, and a chapter page works with the keyboard alone.
///
/// The site check alone (renders the site, runs the lessons it shows unless their logs are fresh, then this class):
/// `./mvnw -o -B verify -Psolutions -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=SiteIT`
/// (failsafe reads `it.test`, not `test`; `-Dtest=none` keeps surefire's graded tests and course check out of it).
@Tag("course") // the course's own check, never a graded test (GradeRun leaves it out when it grades a tree)
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@DisplayName("The course site")
class SiteIT {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path SITE = ROOT.resolve("target/site");
    private static final Path SHOTS = ROOT.resolve("target/site-shots");
    private static final Path A11Y = ROOT.resolve("target/site-a11y.json");
    // axe-core's rules for WCAG 2.0 and 2.1, levels A and AA, and its best practices (landmarks, one h1, ...)
    private static final List<String> AXE_TAGS = List.of("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice");
    private static final Set<String> SERIOUS = Set.of("serious", "critical");
    // rules that judge what every page shares (workbook.rb, workbook.css): any violation of these is the template's
    private static final Set<String> TEMPLATE_RULES = Set.of("landmark-one-main", "region", "bypass", "skip-link",
            "landmark-unique", "landmark-no-duplicate-main", "landmark-main-is-top-level", "landmark-complementary-is-top-level",
            "landmark-banner-is-top-level", "landmark-contentinfo-is-top-level", "page-has-heading-one", "document-title",
            "html-has-lang", "meta-viewport", "scrollable-region-focusable", "color-contrast", "link-in-text-block",
            "aria-allowed-role", "aria-prohibited-attr", "nested-interactive", "tabindex");
    private static final String AXE_SOURCE = axeSource();
    private static final Path CHROMIUM = Path.of(System.getProperty("site.chromium", "/usr/bin/chromium"));
    private static final Path CHROMEDRIVER = Path.of(System.getProperty("site.chromedriver", "/usr/bin/chromedriver"));
    private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*:");
    private static final Pattern CSS_URL = Pattern.compile("url\\(\\s*['\"]?([^'\")]+)|@import\\s+['\"]([^'\"]+)");
    private static final Pattern SVG_REF = Pattern.compile("(?:href|src)\\s*=\\s*['\"]([^'\"]+)['\"]");
    // elements whose src/href/data the browser fetches while rendering the page (a link is followed only if clicked)
    private static final Set<String> LOADS = Set.of("img", "script", "link", "iframe", "frame", "embed", "object",
            "source", "track", "audio", "video", "input", "image", "use");

    // Selenium warns that it has no DevTools classes for this Chromium: the check needs none (it sends CDP commands
    // through chromedriver), so keep its log to real errors. (A strong reference: loggers are held weakly.)
    private static final java.util.logging.Logger SELENIUM = java.util.logging.Logger.getLogger("org.openqa.selenium");

    private static List<Path> pages;
    private static Chromium chromium;
    private static Map<Path, Visit> visits;

    @BeforeAll
    static void findPages() throws IOException {
        SELENIUM.setLevel(java.util.logging.Level.SEVERE);
        assertThat(SITE.resolve("index.html"))
                .as("the rendered site's start page: render it with ./mvnw -Psite generate-resources")
                .isRegularFile();
        try (Stream<Path> files = Files.walk(SITE)) {
            pages = files.filter(f -> f.toString().endsWith(".html")).sorted().toList();
        }
    }

    @Test
    @DisplayName("every relative link and image resolves to a file of the site, every #fragment exists, nothing comes from another host")
    void everyLinkResolvesInsideTheSite() throws IOException {
        long t0 = System.nanoTime();
        var problems = new ArrayList<String>();
        var ids = new HashMap<Path, Set<String>>();
        int links = 0;
        for (Path page : pages) {
            Document doc = parse(page);
            ids.put(page, idsOf(doc));
            for (Element e : doc.select("[href], [src], [data], [srcset], [poster]")) {
                for (String attr : List.of("href", "src", "data", "poster", "srcset")) {
                    if (!e.hasAttr(attr)) {
                        continue;
                    }
                    String url = attr.equals("srcset") ? e.attr(attr).strip().split("\\s+")[0] : e.attr(attr).strip();
                    links++;
                    String problem = checkUrl(page, e.tagName(), url, ids);
                    if (problem != null) {
                        problems.add(label(page) + ": <" + e.tagName() + " " + attr + "=\"" + url + "\"> " + problem);
                    }
                }
            }
            for (Element style : doc.select("style, [style]")) {
                String css = style.tagName().equals("style") ? style.data() : style.attr("style");
                problems.addAll(outsideRefs(page, css, CSS_URL));
            }
        }
        try (Stream<Path> files = Files.walk(SITE)) {
            for (Path svg : files.filter(f -> f.toString().endsWith(".svg")).toList()) {
                String text = Files.readString(svg);
                problems.addAll(outsideRefs(svg, text, CSS_URL));
                problems.addAll(outsideRefs(svg, text, SVG_REF));
            }
        }
        report("link check", "%d pages, %d links".formatted(pages.size(), links), t0);
        assertThat(problems).as("broken links, missing fragments and outside resources in target/site").isEmpty();
    }

    @Test
    @DisplayName("no chapter page shows reference-solution code: solutions have a page of their own")
    void noChapterPageShowsSolutionCode() throws IOException {
        var problems = new ArrayList<String>();
        for (Path chapter : chapterFolders()) {
            String id = chapter.getFileName().toString();
            Path page = SITE.resolve("chapters").resolve(id).resolve("README.html");
            assertThat(page).as("the page of chapter " + id).isRegularFile();
            Set<String> shown = new HashSet<>();
            for (Element pre : parse(page).select("pre")) {
                pre.wholeText().lines().map(String::strip).forEach(shown::add);
            }
            for (String line : solutionOnlyLines(id)) {
                if (shown.contains(line)) {
                    problems.add(label(page) + " shows a line of solutions/" + id + ": " + line);
                }
            }
            Path solutionPage = SITE.resolve("solutions").resolve(id).resolve("index.html");
            assertThat(solutionPage).as("the solution page of chapter " + id).isRegularFile();
            assertThat(parse(page).select("a[href]").stream().map(a -> a.attr("href")))
                    .as("links on %s (its end must lead to the solution page)", label(page))
                    .anyMatch(href -> href.startsWith("../../solutions/" + id + "/index.html"));
        }
        assertThat(problems).as("solution code on chapter pages (include it on the solution page only)").isEmpty();
    }

    @Test
    @DisplayName("every chapter is on the start page, with its run and grade commands and links to its neighbours")
    void everyChapterIsOnTheSiteWithItsBoxes() throws IOException {
        List<Path> chapters = chapterFolders();
        Document index = parse(SITE.resolve("index.html"));
        for (int i = 0; i < chapters.size(); i++) {
            String id = chapters.get(i).getFileName().toString();
            String tag = id.substring(3);
            Path pagePath = SITE.resolve("chapters").resolve(id).resolve("README.html");
            assertThat(index.select("#content a[href]").stream().map(a -> a.attr("href")))
                    .as("links on the start page: the course index needs a line for chapter %s (docs/index.adoc)", id)
                    .contains("chapters/" + id + "/README.html");
            Document page = parse(pagePath);
            assertThat(page.select(".workbench .run code").text()).as("'Run it' on " + label(pagePath))
                    .startsWith("./jbang ");
            assertThat(page.select(".workbench .grade code").first()).as("'Grade it' on " + label(pagePath)).isNotNull();
            assertThat(page.select(".workbench .grade code").first().text()).as("'Grade it' on " + label(pagePath))
                    .isEqualTo("./mvnw test -Dgroups=" + tag);
            assertThat(page.select("#toc li")).as("the table of contents of " + label(pagePath)).isNotEmpty();
            if (i > 0) {
                assertThat(page.select(".pager a.prev").attr("href")).as("'Previous' on " + label(pagePath))
                        .isEqualTo("../" + chapters.get(i - 1).getFileName() + "/README.html");
            }
            if (i + 1 < chapters.size()) {
                assertThat(page.select(".pager a.next").attr("href")).as("'Next' on " + label(pagePath))
                        .isEqualTo("../" + chapters.get(i + 1).getFileName() + "/README.html");
            }
        }
    }

    @Test
    @DisplayName("every chapter page shows what its lesson printed, step by step, with the kernel, JDK and date it ran on")
    void everyChapterPageShowsWhatItsLessonPrinted() throws IOException {
        var problems = new ArrayList<String>();
        for (Path chapter : chapterFolders()) {
            Path page = SITE.resolve("chapters").resolve(chapter.getFileName()).resolve("README.html");
            Element output = parse(page).selectFirst("#see-it-run.lesson-output");
            if (output == null) {
                problems.add(label(page) + ": no lesson output (#see-it-run): its \"See it\" section includes "
                        + "{workbook-lesson-output}/<Lesson>.adoc, which LessonOutput.java writes before the site renders");
                continue;
            }
            Element section = output.closest(".sect1");
            String heading = section == null || section.selectFirst("h2") == null ? "" : section.selectFirst("h2").text();
            if (!heading.equals("See it")) {
                problems.add(label(page) + ": the lesson output is under \"" + heading + "\", not \"See it\"");
            }
            String ran = output.select(".lesson-output-ran").text();
            if (!ran.matches("What \\./jbang [a-z0-9-]+ printed on \\S+ \\S+, JDK \\d[^,]*, \\d{4}-\\d\\d-\\d\\d .*")) {
                problems.add(label(page) + ": no line saying where the lesson ran (kernel, JDK, date): \"" + ran + "\" ("
                        + output.text().substring(0, Math.min(200, output.text().length())) + ")");
                continue;
            }
            List<String> printed = output.select(".lesson-step pre").eachText();
            if (printed.isEmpty() || printed.stream().anyMatch(String::isBlank)) {
                problems.add(label(page) + ": the lesson's steps printed nothing: " + printed);
            }
            List<String> steps = output.select(".lesson-step > .title, .paragraph.lesson-step > p").eachText();
            String first = ("Step 1: " + firstStep(chapter)).replaceAll("\\s+", " "); // as the page's text reads
            if (steps.isEmpty() || !steps.getFirst().startsWith(first)) {
                problems.add(label(page) + ": the first step shown is \"" + (steps.isEmpty() ? "" : steps.getFirst())
                        + "\", the lesson's first step is \"" + first + "…\"");
            }
        }
        assertThat(problems).as("chapter pages without their lesson's output (a reader who cannot run it sees it there)")
                .isEmpty();
    }

    /// The text of a lesson's first `Lesson.step("…")` up to its first concatenation: a line it always prints.
    private static String firstStep(Path chapter) throws IOException {
        for (Path f : regularFiles(chapter)) {
            if (f.getFileName().toString().endsWith("Lesson.java")) {
                Matcher m = Pattern.compile("Lesson\\.step\\(\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(Files.readString(f));
                assertThat(m.find()).as("a Lesson.step(\"…\") in " + ROOT.relativize(f)).isTrue();
                return m.group(1).replace("\\\"", "\"").replace("\\\\", "\\");
            }
        }
        throw new AssertionError("no *Lesson.java in " + ROOT.relativize(chapter));
    }

    @Test
    @DisplayName("every page loads in headless Chromium with the network blocked: no failed resource, no console error")
    @Timeout(value = 10, unit = TimeUnit.MINUTES) // the first of these two opens every page (visits), for both
    void everyPageLoadsInChromium() throws Exception {
        assumeChromium("browser check");
        long t0 = System.nanoTime();
        var problems = new ArrayList<String>();
        visits().values().forEach(visit -> problems.addAll(visit.loadProblems()));
        long loaded = System.nanoTime();
        report("browser check", pages.size() + " pages loaded", t0);
        ChromeDriver driver = browser();
        Files.createDirectories(SHOTS);
        Path chapter = chapterFolders().isEmpty() ? null : chapterFolders().getFirst();
        var shots = new LinkedHashMap<String, Path>();
        shots.put("index", SITE.resolve("index.html"));
        if (chapter != null) {
            shots.put("chapter-" + chapter.getFileName(),
                    SITE.resolve("chapters").resolve(chapter.getFileName()).resolve("README.html"));
        }
        for (var shot : shots.entrySet()) {
            screenshot(driver, shot.getValue(), 1280, 1, false, SHOTS.resolve(shot.getKey() + "-desktop.png"));
            screenshot(driver, shot.getValue(), 390, 2, true, SHOTS.resolve(shot.getKey() + "-phone.png"));
        }
        report("screenshots", shots.size() * 2 + " in " + ROOT.relativize(SHOTS), loaded);
        assertThat(problems).as("pages of target/site in headless Chromium (network blocked)").isEmpty();
    }

    @Test
    @DisplayName("every page passes axe-core in Chromium (file pages: one of each kind): no serious or critical WCAG 2.1 A/AA violation, none of the page template's")
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void everyPagePassesAxe() throws Exception {
        assumeChromium("accessibility check");
        long t0 = System.nanoTime();
        var took = new TreeMap<Long, String>(Comparator.reverseOrder());
        var problems = new ArrayList<String>();
        var others = new ArrayList<String>();
        var results = new LinkedHashMap<String, Object>();
        String engine = "";
        for (var visit : visits().entrySet()) {
            Path page = visit.getKey();
            Map<String, Object> axe = visit.getValue().axe();
            if (axe == null) {
                continue; // a file page beside the sample of its kind (see audited)
            }
            took.put(visit.getValue().axeNanos(), label(page));
            if (axe.containsKey("error")) {
                problems.add(label(page) + ": axe-core could not check the page: " + axe.get("error"));
                continue;
            }
            engine = String.valueOf(axe.get("engine"));
            results.put(label(page), Map.of("violations", axe.get("violations"), "incomplete", axe.get("incomplete"),
                    "passes", axe.get("passes"), "inapplicable", axe.get("inapplicable")));
            for (Object v : (List<?>) axe.get("violations")) {
                Map<String, Object> rule = asMap(v);
                String id = String.valueOf(rule.get("id")), impact = String.valueOf(rule.get("impact"));
                boolean blocking = SERIOUS.contains(impact) || TEMPLATE_RULES.contains(id);
                for (Object n : (List<?>) rule.get("nodes")) {
                    Map<String, Object> node = asMap(n);
                    (blocking ? problems : others).add("%s: %s (%s: %s) at %s: %s".formatted(label(page), id, impact,
                            rule.get("help"), node.get("target"), shorten(String.valueOf(node.get("html")))));
                }
            }
        }
        var report = new LinkedHashMap<String, Object>();
        report.put("engine", engine);
        report.put("tags", AXE_TAGS);
        report.put("pages", results);
        Files.writeString(A11Y, new Json().toJson(report));
        report("accessibility check", "%d of %d pages, %d violations to fix, %d others (%s)".formatted(results.size(),
                pages.size(), problems.size(), others.size(), ROOT.relativize(A11Y)), t0);
        others.forEach(o -> System.out.println("[site] axe, minor or moderate, in a page's text: " + o));
        // the slowest pages, for whoever keeps the course check fast
        took.entrySet().stream().limit(3).forEach(e -> System.out.printf("[site] axe: %.1f s for %s%n", e.getKey() / 1e9, e.getValue()));
        assertThat(results).as("pages axe-core checked").isNotEmpty();
        // a broken template breaks every page: the first hundred say what, the file says where else
        List<String> shown = problems.size() <= 100 ? problems : Stream.concat(problems.stream().limit(100),
                Stream.of("... and %d more".formatted(problems.size() - 100))).toList();
        assertThat(shown).as("axe-core violations in target/site that are serious or critical, or the page template's "
                + "(rule, impact, element, page; all results in %s)", ROOT.relativize(A11Y)).isEmpty();
    }

    @Test
    @DisplayName("every highlighted token of every code listing, on every page, has a contrast of at least 4.5:1 against its background")
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void everyCodeTokenIsReadable() throws Exception {
        assumeChromium("contrast check of code listings");
        long t0 = System.nanoTime();
        var problems = new ArrayList<String>();
        var pairs = new TreeSet<String>();
        for (var visit : visits().entrySet()) {
            for (var pair : visit.getValue().tokens().entrySet()) {
                String[] colours = pair.getKey().split(" on ");
                double ratio = contrast(colours[0], colours[1]);
                pairs.add(pair.getKey());
                if (!(ratio >= 4.5)) {
                    problems.add("%s: %s on %s is %.2f:1 (WCAG AA asks 4.5:1 of text), e.g. %s".formatted(
                            label(visit.getKey()), colours[0], colours[1], ratio, pair.getValue()));
                }
            }
        }
        report("contrast check of code listings", "%d colour pairs on %d pages".formatted(pairs.size(), pages.size()), t0);
        assertThat(pairs).as("colour pairs of highlighted code tokens on the site (none: the check saw no listing)")
                .isNotEmpty();
        assertThat(problems).as("code tokens too faint to read (the palette is workbook.rb's Palette)").isEmpty();
    }

    /// The contrast ratio of two CSS colours (`rgb(r, g, b)` or opaque `rgba`), as WCAG 2.1 defines it; NaN if
    /// either is (semi-)transparent, which this check cannot judge.
    static double contrast(String foreground, String background) {
        double[] f = rgb(foreground), b = rgb(background);
        if (f == null || b == null) {
            return Double.NaN;
        }
        double lf = luminance(f), lb = luminance(b);
        return (Math.max(lf, lb) + 0.05) / (Math.min(lf, lb) + 0.05);
    }

    private static double[] rgb(String css) {
        Matcher m = Pattern.compile("rgba?\\((\\d+), (\\d+), (\\d+)(?:, ([\\d.]+))?\\)").matcher(css.strip());
        if (!m.matches() || (m.group(4) != null && Double.parseDouble(m.group(4)) < 1)) {
            return null;
        }
        return new double[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))};
    }

    private static double luminance(double[] rgb) {
        double[] c = new double[3];
        for (int i = 0; i < 3; i++) {
            double v = rgb[i] / 255;
            c[i] = v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        }
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    }

    /// Every distinct colour of a highlighted token on the page and the background it is drawn on (the nearest
    /// that is not transparent), each with one token that has it: `{"rgb(207, 34, 46) on rgb(246, 248, 250)": "kd: class"}`.
    private static final String TOKEN_COLOURS = """
            const seen = {}, backgrounds = new Map();
            const background = el => {
              if (!el) return 'rgb(255, 255, 255)';
              if (!backgrounds.has(el)) {
                const b = getComputedStyle(el).backgroundColor;
                backgrounds.set(el, /^rgba\\(.*, 0\\)$|^transparent$/.test(b) ? background(el.parentElement) : b);
              }
              return backgrounds.get(el);
            };
            for (const span of document.querySelectorAll('pre.rouge span')) {
              if (!span.textContent.trim()) continue;
              const key = getComputedStyle(span).color + ' on ' + background(span);
              if (!(key in seen)) seen[key] = span.className + ': ' + span.textContent.trim().slice(0, 40);
            }
            return seen;
            """;

    /// One page opened in the browser: what failed while it loaded, and axe-core's verdict if it was audited.
    record Visit(List<String> loadProblems, Map<String, Object> axe, long axeNanos, Map<String, Object> tokens) {
    }

    /// Opens every page once, for the browser check and the accessibility check together: in two browsers, each
    /// on every other page, since axe-core keeps one core busy while it audits and the machine has two.
    private static synchronized Map<Path, Visit> visits() throws Exception {
        if (visits != null) {
            return visits;
        }
        long t0 = System.nanoTime();
        Set<Path> audited = audited();
        var visited = new java.util.concurrent.ConcurrentHashMap<Path, Visit>();
        try (var second = Chromium.start(); var pool = java.util.concurrent.Executors.newFixedThreadPool(2)) {
            var drivers = List.of(browser(), second.driver());
            var lanes = new ArrayList<java.util.concurrent.Future<?>>();
            for (int lane = 0; lane < drivers.size(); lane++) {
                ChromeDriver driver = drivers.get(lane);
                List<Path> share = new ArrayList<>();
                for (int i = lane; i < pages.size(); i += drivers.size()) {
                    share.add(pages.get(i));
                }
                lanes.add(pool.submit(() -> {
                    // what the browser did before (another check's pages) is not these pages' doing
                    driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
                    driver.get("about:blank");
                    driver.manage().logs().get(LogType.PERFORMANCE);
                    driver.manage().logs().get(LogType.BROWSER);
                    for (Path page : share) {
                        visited.put(page, visit(driver, page, audited.contains(page)));
                    }
                    return null;
                }));
            }
            for (var lane : lanes) {
                lane.get();
            }
        }
        var inOrder = new LinkedHashMap<Path, Visit>();
        pages.forEach(page -> inOrder.put(page, visited.get(page)));
        visits = inOrder;
        report("pages opened for the browser and accessibility checks", ("%d pages in two browsers, %d of them audited "
                + "by axe-core in %.1f s").formatted(pages.size(), audited.size(),
                inOrder.values().stream().mapToLong(Visit::axeNanos).sum() / 1e9), t0);
        return visits;
    }

    private static Visit visit(ChromeDriver driver, Path page, boolean audit) {
        var problems = new ArrayList<String>();
        driver.get(page.toUri().toString());
        // one round trip for both: the images that did not load, and the code tokens' colours
        Map<String, Object> seen = asMap(driver.executeScript("return {broken: Array.from(document.images)"
                + ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src')), "
                + "tokens: (() => {" + TOKEN_COLOURS + "})()};"));
        if (seen.get("broken") instanceof List<?> images && !images.isEmpty()) {
            problems.add(label(page) + ": images that did not load: " + images);
        }
        problems.addAll(requestProblems(page, driver.manage().logs().get(LogType.PERFORMANCE).getAll()));
        for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
            if (entry.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue()) {
                problems.add(label(page) + ": console error: " + entry.getMessage());
            }
        }
        Map<String, Object> axe = null;
        long a0 = System.nanoTime(), axeNanos = 0;
        if (audit) {
            axe = asMap(driver.executeAsyncScript(AXE_RUN, AXE_TAGS));
            axeNanos = System.nanoTime() - a0;
        }
        return new Visit(problems, axe, axeNanos, asMap(seen.get("tokens")));
    }

    /// The pages axe-core checks: every page but the file pages (a repository file as a highlighted listing, made
    /// by one template, workbook.rb's file_page), of which it checks one of each kind (top folder and extension).
    /// axe-core spends its time on a listing's highlighted tokens, a few thousand per file; a file page has nothing
    /// else of its own, and every token colour is checked against the listing's background on the pages that are
    /// audited (chapter and solution pages are full of the same highlighted Java), so the other file pages would
    /// repeat the sample's verdict at 5-20 s each.
    private static Set<Path> audited() {
        var sampled = new HashSet<String>();
        var audited = new TreeSet<Path>();
        for (Path page : pages) {
            String name = SITE.relativize(page).toString();
            Matcher file = Pattern.compile("^([^/]+)/.*\\.([a-z]+)\\.html$").matcher(name);
            if (!file.matches() || file.group(2).equals("adoc") || sampled.add(file.group(1) + "." + file.group(2))) {
                audited.add(page);
            }
        }
        return audited;
    }

    /// Runs axe-core (put on every page by {@link Chromium#start}) on the page: violations with their elements,
    /// the other rules by id only (resultTypes: axe then skips collecting every element that passed). It leaves out
    /// the highlighted tokens of code listings, a few thousand spans a page that cost its color-contrast rule most of
    /// its time, and nothing but their colour to judge: {@link #everyCodeTokenIsReadable} measures every one of them,
    /// on every page.
    private static final String AXE_RUN = """
            const tags = arguments[0], done = arguments[arguments.length - 1];
            if (!window.axe) { done({error: 'axe-core is not on the page'}); return; }
            axe.run({exclude: [['pre.rouge span']]}, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}).then(r => done({
              engine: r.testEngine.name + ' ' + r.testEngine.version,
              violations: r.violations.map(rule => ({id: rule.id, impact: rule.impact, help: rule.help,
                  helpUrl: rule.helpUrl, tags: rule.tags, nodes: rule.nodes.map(n => ({target: '[' + n.target.join(', ') + ']',
                  html: n.html, failureSummary: n.failureSummary}))})),
              incomplete: r.incomplete.map(rule => rule.id), passes: r.passes.map(rule => rule.id),
              inapplicable: r.inapplicable.map(rule => rule.id)}), e => done({error: String(e)}));
            """;

    /// The one browser every check of this class uses (starting one costs seconds); closed after the last.
    private static synchronized ChromeDriver browser() throws IOException {
        if (chromium == null) {
            chromium = Chromium.start();
        }
        return chromium.driver();
    }

    @AfterAll
    static void closeBrowser() {
        if (chromium != null) {
            chromium.close();
            chromium = null;
        }
    }

    @Test
    @DisplayName("every diagram has a text alternative: a sentence on its <img>, a title and a description in its SVG")
    void everyDiagramSaysWhatItShows() throws IOException {
        var problems = new ArrayList<String>();
        int diagrams = 0;
        for (Path page : pages) {
            for (Element img : parse(page).select("img[src$=.svg]")) {
                diagrams++;
                String src = img.attr("src"), alt = img.attr("alt").strip();
                String name = src.substring(src.lastIndexOf('/') + 1).replaceFirst("\\.svg$", "").replaceAll("[_-]", " ");
                if (alt.isEmpty() || alt.equals(name) || alt.split("\\s+").length < 8) {
                    problems.add(label(page) + ": <img src=\"" + src + "\"> has alt=\"" + alt + "\": say what the diagram "
                            + "shows, in a sentence or two (alt=\"...\" on its block)");
                }
                Path svg = page.getParent().resolve(src).normalize();
                String text = Files.isRegularFile(svg) ? Files.readString(svg) : "";
                Matcher head = Pattern.compile("<svg\\b[^>]*>\\s*<title\\b[^>]*>([^<]+)</title>\\s*<desc\\b[^>]*>([^<]+)</desc>")
                        .matcher(text);
                if (!head.find()) {
                    problems.add(label(svg) + ": no <title> and <desc> as the first children of <svg> (workbook.rb adds "
                            + "them from the block's section title and alt)");
                }
            }
        }
        assertThat(diagrams).as("diagrams (SVG images) on the site's pages").isPositive();
        assertThat(problems).as("diagrams without a text alternative").isEmpty();
    }

    @Test
    @DisplayName("with the keyboard alone, a chapter page tabs through the skip link, the navigation, every link and every "
            + "scrolling listing in order, each with a visible focus ring")
    void aChapterPageWorksWithTheKeyboard() throws IOException {
        assumeChromium("keyboard check");
        Path chapter = chapterFolders().getFirst();
        Path page = SITE.resolve("chapters").resolve(chapter.getFileName()).resolve("README.html");
        long t0 = System.nanoTime();
        Files.createDirectories(SHOTS);
        ChromeDriver driver = browser();
        driver.get(page.toUri().toString());
        driver.executeScript(KEYBOARD_JS);
        @SuppressWarnings("unchecked")
        List<String> expected = (List<String>) driver.executeScript("return workbookTabStops()");
        assertThat(expected).as("elements of %s that take the focus", label(page)).isNotEmpty();
        assertThat(expected.getFirst()).as("the first tab stop of %s (a skip link to the text)", label(page))
                .startsWith("a.skip-link");
        assertThat(expected).as("tab stops of %s", label(page))
                .anyMatch(stop -> stop.startsWith("nav.sitebar a"))
                .anyMatch(stop -> stop.startsWith("pre[Code listing"));
        for (int width : List.of(1280, 390)) {
            driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", 900,
                    "deviceScaleFactor", 1, "mobile", width < 500));
            assertThat(driver.executeScript("return workbookUnreachableScrollers()"))
                    .as("elements of %s that scroll at %d px wide but cannot take the focus (a keyboard could not "
                            + "scroll them)", label(page), width)
                    .asInstanceOf(LIST).isEmpty();
        }
        driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
        driver.get(page.toUri().toString());
        driver.executeScript(KEYBOARD_JS);

        var reached = new ArrayList<String>();
        var noRing = new ArrayList<String>();
        var shots = new LinkedHashMap<String, String>(Map.of("a.skip-link", "keyboard-skip-link.png",
                "nav.sitebar a", "keyboard-navigation.png", "pre[Code listing", "keyboard-code-listing.png"));
        for (int i = 0; i < expected.size(); i++) {
            new Actions(driver).sendKeys(Keys.TAB).perform();
            @SuppressWarnings("unchecked")
            Map<String, Object> focused = (Map<String, Object>) driver.executeScript("return workbookFocused()");
            String stop = String.valueOf(focused.get("name"));
            reached.add(stop);
            if (!Boolean.TRUE.equals(focused.get("ring"))) {
                noRing.add(stop + " (" + focused.get("outline") + ")");
            }
            if (!Boolean.TRUE.equals(focused.get("onScreen"))) {
                noRing.add(stop + " is focused but not on the screen");
            }
            for (var shot : List.copyOf(shots.entrySet())) {
                if (stop.startsWith(shot.getKey())) {
                    Map<String, Object> png = driver.executeCdpCommand("Page.captureScreenshot", Map.of("format", "png"));
                    Files.write(SHOTS.resolve(shot.getValue()), Base64.getDecoder().decode((String) png.get("data")));
                    shots.remove(shot.getKey());
                }
            }
        }
        assertThat(reached).as("what Tab reaches on %s, press by press (expected: every link and listing, in the "
                + "order of the page)", label(page)).containsExactlyElementsOf(expected);
        assertThat(noRing).as("focused elements of %s without a visible focus ring (an outline of 2 px or more)",
                label(page)).isEmpty();

        // The skip link leads past the course bar and the contents: the next Tab is inside the text.
        driver.get(page.toUri().toString());
        driver.executeScript(KEYBOARD_JS);
        new Actions(driver).sendKeys(Keys.TAB).sendKeys(Keys.ENTER).sendKeys(Keys.TAB).perform();
        @SuppressWarnings("unchecked")
        Map<String, Object> afterSkip = (Map<String, Object>) driver.executeScript("return workbookFocused()");
        assertThat(afterSkip.get("inText")).as("after Tab, Enter on the skip link and Tab, the focus is on %s: "
                + "it should be inside the text (#content)", afterSkip.get("name")).isEqualTo(true);
        report("keyboard check", label(page) + ", screenshots in " + ROOT.relativize(SHOTS), t0);
    }

    /// Helpers run in the page: its tab stops in document order, what scrolls without being reachable, and what
    /// has the focus now (with its outline). An element is named by its place and its text, e.g. `nav.sitebar a[Setup]`.
    private static final String KEYBOARD_JS = """
            const FOCUSABLE = 'a[href], [tabindex], button, input, select, textarea, summary';
            // inside a closed <details> only its own summary can take the focus (Chromium still lays the rest out)
            const folded = el => {
              for (let d = el.parentElement && el.parentElement.closest('details'); d;
                   d = d.parentElement && d.parentElement.closest('details')) {
                if (!d.open && !(el.tagName === 'SUMMARY' && el.parentElement === d)) return true;
              }
              return false;
            };
            const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
                && !folded(el);
            const name = el => {
              if (!el || el === document.body) return 'body';
              const where = el.closest('nav.sitebar') ? 'nav.sitebar ' : el.closest('#toc') ? 'nav#toc '
                  : el.closest('.pager') ? 'nav.pager ' : '';
              const what = el.tagName.toLowerCase() + (el.classList.contains('skip-link') ? '.skip-link' : '');
              const text = (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
              const href = el.getAttribute('href') ? ' -> ' + el.getAttribute('href') : '';
              return where + what + '[' + text + ']' + href;
            };
            window.workbookTabStops = () => Array.from(document.querySelectorAll(FOCUSABLE))
                .filter(el => el.tabIndex >= 0 && !el.disabled && visible(el)).map(name);
            window.workbookUnreachableScrollers = () => Array.from(document.querySelectorAll('body *')).filter(el => {
              const cs = getComputedStyle(el);
              const sideways = /auto|scroll/.test(cs.overflowX) && el.scrollWidth > el.clientWidth + 1;
              const down = /auto|scroll/.test(cs.overflowY) && el.scrollHeight > el.clientHeight + 1;
              return (sideways || down) && visible(el) && el.tabIndex < 0 && !el.querySelector(FOCUSABLE);
            }).map(name);
            window.workbookFocused = () => {
              const el = document.activeElement, cs = getComputedStyle(el), r = el.getBoundingClientRect();
              const ring = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2
                  && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(cs.outlineColor);
              const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                  && r.top < innerHeight && r.left < innerWidth;
              return {name: name(el), ring: ring, onScreen: onScreen, inText: !!el.closest('#content'),
                      outline: cs.outlineStyle + ' ' + cs.outlineWidth + ' ' + cs.outlineColor};
            };
            """;

    private static String shorten(String html) {
        String one = String.valueOf(html).replaceAll("\\s+", " ");
        return one.length() <= 160 ? one : one.substring(0, 157) + "...";
    }

    /// axe-core's script, as its Selenium jar carries it.
    private static String axeSource() {
        try (var in = SiteIT.class.getResourceAsStream("/axe.min.js")) {
            assertThat(in).as("axe.min.js on the class path (com.deque.html.axe-core:selenium)").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void assumeChromium(String check) {
        String absent = "Chromium is not installed (" + CHROMIUM + ", " + CHROMEDRIVER + "): the " + check + " needs "
                + "Debian's packages chromium and chromium-driver (.ci/run installs them)";
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            System.out.println("[site] " + check + " skipped: " + absent);
        }
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), absent);
    }

    /// Headless Chromium at 1280 x 900 with every network request blocked (pages are opened from disk).
    record Chromium(ChromeDriver driver, Path profile) implements AutoCloseable {
        static Chromium start() throws IOException {
            Path profile = Files.createTempDirectory("site-chromium-");
            var options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
                    // names resolve to nothing: even a request that slipped past the block below could not leave
                    "--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + profile, "--window-size=1280,900");
            options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL", LogType.PERFORMANCE, "ALL"));
            var service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                    .usingAnyFreePort().withSilent(true).build();
            var driver = new ChromeDriver(service, options);
            try {
                driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
                driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(120));
                // axe-core on every page from its first line: once here, not 560 kB through WebDriver per page
                driver.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", AXE_SOURCE));
                driver.executeCdpCommand("Network.enable", Map.of());
                driver.executeCdpCommand("Network.setBlockedURLs", Map.of("urls",
                        List.of("http://*", "https://*", "ws://*", "wss://*", "ftp://*")));
                // what the browser did before the first page (its new-tab page) is not the site's doing
                driver.get("about:blank");
                driver.manage().logs().get(LogType.PERFORMANCE);
                driver.manage().logs().get(LogType.BROWSER);
            } catch (RuntimeException e) {
                driver.quit();
                deleteTree(profile);
                throw e;
            }
            return new Chromium(driver, profile);
        }

        @Override
        public void close() {
            driver.quit();
            deleteTree(profile);
        }
    }

    /// A full-page screenshot at the given CSS width (phone: mobile viewport rules, as a phone applies them).
    private static void screenshot(ChromeDriver driver, Path page, int width, int scale, boolean mobile, Path out)
            throws IOException {
        var metrics = new HashMap<String, Object>(Map.of("width", width, "height", 900, "deviceScaleFactor", scale,
                "mobile", mobile));
        driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", metrics);
        driver.get(page.toUri().toString());
        long height = ((Number) driver.executeScript("return document.documentElement.scrollHeight")).longValue();
        metrics.put("height", (int) Math.min(height, 16_000 / scale));
        driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", metrics);
        Map<String, Object> png = driver.executeCdpCommand("Page.captureScreenshot", Map.of("format", "png"));
        Files.write(out, Base64.getDecoder().decode((String) png.get("data")));
        driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
    }

    /// Requests other than file: (and data:), and requests that failed, from Chromium's network log.
    private static List<String> requestProblems(Path page, List<LogEntry> entries) {
        var problems = new ArrayList<String>();
        var urls = new HashMap<String, String>();
        var json = new Json();
        for (LogEntry entry : entries) {
            Map<String, Object> message = asMap(asMap(json.toType(entry.getMessage(), Map.class)).get("message"));
            Map<String, Object> params = asMap(message.get("params"));
            switch (String.valueOf(message.get("method"))) {
                case "Network.requestWillBeSent" -> {
                    String url = String.valueOf(asMap(params.get("request")).get("url"));
                    urls.put(String.valueOf(params.get("requestId")), url);
                    if (!url.startsWith("file:") && !url.startsWith("data:")) {
                        problems.add(label(page) + ": requested " + url);
                    }
                }
                case "Network.loadingFailed" -> problems.add(label(page) + ": failed to load "
                        + urls.getOrDefault(String.valueOf(params.get("requestId")), "a resource") + " ("
                        + Stream.of(String.valueOf(params.getOrDefault("errorText", "")),
                                        params.containsKey("blockedReason") ? "blocked: " + params.get("blockedReason") : "")
                                .filter(s -> !s.isEmpty()).reduce((a, b) -> a + ", " + b).orElse("no reason given")
                        + ")");
                default -> { }
            }
        }
        return problems;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
    }

    private static String checkUrl(Path page, String tag, String url, Map<Path, Set<String>> ids) throws IOException {
        if (url.isEmpty()) {
            return "is empty";
        }
        if (url.startsWith("//") || (SCHEME.matcher(url).find() && !url.startsWith("data:"))) {
            boolean loads = LOADS.contains(tag);
            if (loads) {
                return "loads a resource from another host (the site must work offline)";
            }
            return url.startsWith("file:") ? "is an absolute file: link (use a relative one)" : null;
        }
        if (url.startsWith("data:")) {
            return null;
        }
        int hash = url.indexOf('#');
        String path = hash < 0 ? url : url.substring(0, hash);
        String fragment = hash < 0 ? null : URLDecoder.decode(url.substring(hash + 1), StandardCharsets.UTF_8);
        int query = path.indexOf('?');
        if (query >= 0) {
            path = path.substring(0, query);
        }
        if (path.startsWith("/")) {
            return "is root-relative: it breaks when the site is served from a sub-path or opened from disk";
        }
        Path target = path.isEmpty() ? page
                : page.getParent().resolve(URLDecoder.decode(path, StandardCharsets.UTF_8)).normalize();
        if (!target.startsWith(SITE)) {
            return "points outside the site";
        }
        if (Files.isDirectory(target)) {
            return "points to a folder (opened from disk that is a file listing, not a page)";
        }
        if (!Files.isRegularFile(target)) {
            return "points to a missing file: " + label(target);
        }
        if (fragment != null && !fragment.isEmpty() && target.toString().endsWith(".html")) {
            Set<String> known = ids.get(target);
            if (known == null) {
                known = idsOf(parse(target));
                ids.put(target, known);
            }
            if (!known.contains(fragment)) {
                return "names #" + fragment + ", which " + label(target) + " does not have";
            }
        }
        return null;
    }

    private static List<String> outsideRefs(Path file, String text, Pattern pattern) {
        var problems = new ArrayList<String>();
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            String url = m.group(1) != null ? m.group(1) : m.groupCount() > 1 ? m.group(2) : null;
            if (url != null && (url.startsWith("//") || url.matches("(?i)^(https?|ftp|wss?):.*"))) {
                problems.add(label(file) + ": loads " + url + " from another host");
            }
        }
        return problems;
    }

    /// Lines of a chapter's reference solution that appear nowhere in its exercise, lesson or tests (long enough
    /// to be code rather than a brace): if one of them shows on the chapter page, the page shows the solution.
    private static Set<String> solutionOnlyLines(String id) throws IOException {
        var elsewhere = new HashSet<String>();
        for (Path dir : List.of(ROOT.resolve("exercises").resolve(id), ROOT.resolve("chapters").resolve(id))) {
            for (Path f : regularFiles(dir)) {
                Files.readAllLines(f).stream().map(String::strip).forEach(elsewhere::add);
            }
        }
        var only = new TreeSet<String>();
        for (Path f : regularFiles(ROOT.resolve("solutions").resolve(id))) {
            if (f.toString().contains("known-bad")) {
                continue; // mistakes, not the answer: they are shown on the solution page only
            }
            Files.readAllLines(f).stream().map(String::strip)
                    .filter(l -> l.length() >= 20 && !l.startsWith("//") && !l.startsWith("*") && !l.startsWith("import "))
                    .filter(l -> !elsewhere.contains(l))
                    .forEach(only::add);
        }
        return only;
    }

    private static List<Path> chapterFolders() {
        return new Chapters(ROOT).all().stream().map(Chapters.Chapter::dir).toList();
    }

    private static List<Path> regularFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static Set<String> idsOf(Document doc) {
        var ids = new HashSet<String>();
        doc.select("[id]").forEach(e -> ids.add(e.id()));
        doc.select("a[name]").forEach(e -> ids.add(e.attr("name")));
        return ids;
    }

    private static Document parse(Path page) {
        try {
            return Jsoup.parse(page.toFile(), "UTF-8", page.toUri().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String label(Path p) {
        return p.startsWith(SITE) ? "target/site/" + SITE.relativize(p) : ROOT.relativize(p).toString();
    }

    private static void report(String what, String detail, long t0) {
        System.out.printf("[site] %s: %s in %.2f s%n", what, detail, (System.nanoTime() - t0) / 1e9);
    }

    private static void deleteTree(Path dir) {
        try {
            WorkbookGrader.deleteTree(dir);
        } catch (UncheckedIOException ignored) {
            // a temporary profile left behind is no verdict on the site
        }
    }
}
