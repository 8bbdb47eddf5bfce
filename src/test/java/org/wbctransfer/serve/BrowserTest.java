package org.wbctransfer.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.wbctransfer.TestData;
import org.wbctransfer.model.Classifier;
import org.wbctransfer.model.ModelInput;

/** The page in a real headless Chromium: pick a cell image, see its class, bars and Grad-CAM. */
class BrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @TempDir
    static Path tmp;

    static Classifier classifier;
    static WbcServer server;
    static WebDriver browser;

    @BeforeAll
    static void start() throws Exception {
        String missing = "no " + CHROMIUM + " (apt-get install chromium chromium-driver)";
        // scripts/test.sh (the README's test command, and CI) installs Chromium first: there a
        // missing browser is a failure; a bare `mvn test` elsewhere skips this test.
        if (System.getenv("WBC_REQUIRE_BROWSER") != null) {
            assertThat(CHROMIUM).as(missing).isExecutable();
        }
        assumeTrue(Files.isExecutable(CHROMIUM), missing);
        // The system's driver, always: Selenium Manager would otherwise try to download one.
        System.setProperty(ChromeDriverService.CHROME_DRIVER_EXE_PROPERTY, CHROMEDRIVER.toString());
        classifier = Classifier.load(TestBundle.get());
        server = WbcServer.start(classifier, new ServeOptions("127.0.0.1", 0, 2, 2_000_000));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + Files.createDirectories(tmp.resolve("chromium-profile")));
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.close();
        }
        if (classifier != null) {
            classifier.close();
        }
    }

    @Test
    void pickingACellImageShowsItsClassProbabilitiesAndGradCam() throws Exception {
        browser.get(server.url());
        waitFor(() -> text("model-info").startsWith("Classes: Basophil, Eosinophil"));
        assertThat(text("model-info")).contains("Not a medical device");

        Path cell = TestData.raabin().resolve(TestData.firstImages("Lymphocyte", 14).get(13));
        upload(cell);
        waitFor(() -> !text("result-class").isEmpty() && overlaySrc().startsWith("data:image/png;base64,"));

        ModelInput input = classifier.input();
        float[] p = classifier.probabilities(input.load(cell), 1, input.size())[0];
        String expected = TestData.CLASSES.get(org.wbctransfer.model.Classifier.argMax(p));
        assertThat(text("result-class")).startsWith(expected + " (");
        assertThat(text("result-file")).isEqualTo(cell.getFileName().toString());
        List<WebElement> bars = browser.findElements(By.cssSelector("#bars .bar"));
        assertThat(bars).extracting(b -> b.getAttribute("data-class")).containsExactlyElementsOf(TestData.CLASSES);
        assertThat(browser.findElements(By.cssSelector("#bars .bar.top"))).singleElement()
                .extracting(b -> b.getAttribute("data-class")).isEqualTo(expected);
        WebElement overlay = browser.findElement(By.id("overlay"));
        // Decoded and laid out by the browser, not just a string in src.
        waitFor(() -> Long.valueOf(256).equals(((JavascriptExecutor) browser)
                .executeScript("return arguments[0].naturalWidth;", overlay)));
        assertThat(text("error")).isEmpty();
    }

    @Test
    void aFileThatIsNotAnImageShowsTheServersErrorAndTheNextImageStillWorks() throws Exception {
        browser.get(server.url());
        Path notes = Files.writeString(tmp.resolve("notes.jpg"), "these are notes, not a cell");
        upload(notes);
        waitFor(() -> text("error").contains("not a recognised image format"));

        Path cell = TestData.raabin().resolve(TestData.firstImages("Eosinophil", 14).get(13));
        upload(cell);
        waitFor(() -> text("result-file").equals(cell.getFileName().toString()) && overlaySrc().startsWith("data:image/png"));
        assertThat(text("error")).isEmpty();
        assertThat(TestData.CLASSES).anyMatch(c -> text("result-class").startsWith(c + " ("));
    }

    @Test
    void severalCellsAtOnceGiveTheDifferentialCount() throws Exception {
        browser.get(server.url());
        waitFor(() -> text("model-info").startsWith("Classes:"));
        List<String> paths = new java.util.ArrayList<>();
        for (String c : List.of("Neutrophil", "Lymphocyte", "Monocyte")) {
            paths.add(TestData.raabin().resolve(TestData.firstImages(c, 15).get(14)).toRealPath().toString());
        }
        // A multiple-file input takes the paths joined by new lines.
        browser.findElement(By.id("file")).sendKeys(String.join("\n", paths));
        waitFor(() -> browser.findElement(By.id("count")).isDisplayed()
                && browser.findElements(By.cssSelector("#cells-table tbody tr")).size() == 3);
        List<WebElement> rows = browser.findElements(By.cssSelector("#count-table tbody tr"));
        assertThat(rows).extracting(r -> r.getAttribute("data-class")).containsExactlyElementsOf(TestData.CLASSES);
        // The called counts add up to the three cells.
        int called = 0;
        for (WebElement r : rows) {
            called += Integer.parseInt(r.findElements(By.tagName("td")).get(1).getText().split(" ")[0]);
        }
        assertThat(called).isEqualTo(3);
        assertThat(text("count-note")).startsWith("3 cells; 0 referred for review; 0 flagged out of distribution.");
        assertThat(text("error")).isEmpty();
    }

    private static void upload(Path file) throws java.io.IOException {
        // ChromeDriver refuses paths with '..' in them (the shared data is reached as ../shared).
        browser.findElement(By.id("file")).sendKeys(file.toRealPath().toString());
    }

    private static String text(String id) {
        return browser.findElement(By.id(id)).getText().strip();
    }

    private static String overlaySrc() {
        String src = browser.findElement(By.id("overlay")).getAttribute("src");
        return src == null ? "" : src;
    }

    private static void waitFor(java.util.function.BooleanSupplier condition) {
        new WebDriverWait(browser, Duration.ofSeconds(90)).until(d -> condition.getAsBoolean());
    }
}
