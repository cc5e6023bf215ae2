import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.json.Json;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/// The course site checks itself (run by `./mvnw verify -Psolutions` once the site is rendered into target/site):
/// every link and image resolves inside the site, nothing is loaded from another host, no chapter page shows
/// solution code, every chapter is on the start page with its boxes and neighbours, and every page loads in a
/// real browser (headless Chromium, network blocked) without a failed resource or a console error.
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@DisplayName("The course site")
class SiteIT {

    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path SITE = ROOT.resolve("target/site");
    private static final Path SHOTS = ROOT.resolve("target/site-shots");
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
    @DisplayName("every page loads in headless Chromium with the network blocked: no failed resource, no console error")
    void everyPageLoadsInChromium() throws IOException {
        String absent = "Chromium is not installed (" + CHROMIUM + ", " + CHROMEDRIVER + "): the browser check needs "
                + "Debian's packages chromium and chromium-driver (.ci/run installs them)";
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            System.out.println("[site] browser check skipped: " + absent);
        }
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), absent);
        long t0 = System.nanoTime();
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
        var problems = new ArrayList<String>();
        var driver = new ChromeDriver(service, options);
        try {
            driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
            driver.executeCdpCommand("Network.enable", Map.of());
            driver.executeCdpCommand("Network.setBlockedURLs", Map.of("urls",
                    List.of("http://*", "https://*", "ws://*", "wss://*", "ftp://*")));
            // what the browser did before the first page (its new-tab page) is not the site's doing
            driver.get("about:blank");
            driver.manage().logs().get(LogType.PERFORMANCE);
            driver.manage().logs().get(LogType.BROWSER);
            for (Path page : pages) {
                driver.get(page.toUri().toString());
                Object broken = driver.executeScript("return Array.from(document.images)"
                        + ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'))");
                if (broken instanceof List<?> images && !images.isEmpty()) {
                    problems.add(label(page) + ": images that did not load: " + images);
                }
                problems.addAll(requestProblems(page, driver.manage().logs().get(LogType.PERFORMANCE).getAll()));
                for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
                    if (entry.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue()) {
                        problems.add(label(page) + ": console error: " + entry.getMessage());
                    }
                }
            }
            long loaded = System.nanoTime();
            report("browser check", pages.size() + " pages loaded", t0);
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
        } finally {
            driver.quit();
            deleteTree(profile);
        }
        assertThat(problems).as("pages of target/site in headless Chromium (network blocked)").isEmpty();
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
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException | UncheckedIOException ignored) {
            // a temporary profile left behind is no verdict on the site
        }
    }
}
