# The course site's shape, as an Asciidoctor extension (loaded by the asciidoctor-maven-plugin, see pom.xml).
#
# The site mirrors the repository: chapters/01-socket/README.adoc becomes chapters/01-socket/README.html, so every
# relative link that works on GitHub works on the site once it points at a page instead of a source file:
#
#   docs/index.adoc                    -> index.html (the start page; docs/index.html only forwards to it)
#   any other .adoc                    -> the same path, .html
#   solutions/NN-name/** (known-bad/ too) -> solutions/NN-name/index.html, the chapter's solution page
#   any other file of the repository   -> <its path>.html, the file as a highlighted listing
#   a folder                           -> its chapter page, or <folder>/index.html listing its files
#   a chapter that does not exist yet  -> plain text marked "not published yet", not a broken link
#
# Chapter pages also get their "Run it" / "Grade it" / "Files" boxes, previous/next links, and, if the text
# forgot it, a link to the solution page under a "try the exercise first" warning. Chapters are found by their
# folders (chapters/NN-name/README.adoc) and lesson aliases in jbang-catalog.json, so a new chapter needs nothing
# here; the start page (docs/index.adoc) has a line per chapter, which the site check asks for.

require 'asciidoctor'
require 'asciidoctor/extensions'
require 'json'
require 'pathname'
require 'fileutils'
require 'cgi'

module SocketWorkbook
  CHAPTER_DIR = /\A\d\d-[a-z0-9-]+\z/
  PENDING = :pending

  # Diagrams of docs/diagrams.adoc that belong to a chapter, by the chapter's tag.
  DIAGRAMS = {
    'listen' => [['the two listen queues', 'queues']],
    'accept' => [['the two listen queues', 'queues']],
    'connect' => [['the three-way handshake', 'handshake']],
    'close' => [['the four-way close', 'close'], ['the TCP state diagram', 'states']],
    'time-wait' => [['the lost last ACK', 'lost-ack'], ['the TCP state diagram', 'states']]
  }

  Chapter = Struct.new :id, :number, :tag, :title, :lesson, :tests, :exercises, :alias_name

  module_function

  def root doc
    File.realpath(doc.attr 'workbook-root', Dir.pwd)
  end

  def site doc
    doc.attr 'workbook-site', File.join(root(doc), 'target', 'site')
  end

  # The repository path of a page's source ("chapters/01-socket/README.adoc"), then the page's path in the site.
  def source_of doc
    return doc.attr 'workbook-source' if doc.attr? 'workbook-source'
    (docfile = doc.attr 'docfile') ? (Pathname.new(File.realpath docfile).relative_path_from Pathname.new(root doc)).to_s : nil
  end

  def page_of doc
    doc.attr('workbook-page') || (adoc_page source_of doc)
  end

  def adoc_page path
    path == 'docs/index.adoc' ? 'index.html' : path.sub(/\.adoc\z/, '.html')
  end

  def chapters doc
    @chapters ||= {}
    @chapters[root doc] ||= begin
      base = root doc
      catalog = (JSON.parse File.read File.join(base, 'jbang-catalog.json') rescue {})
      aliases = (catalog['aliases'] || {}).each_with_object({}) do |(name, entry), found|
        found[entry['script-ref'].to_s] = name
      end
      (Dir.glob File.join(base, 'chapters', '*', 'README.adoc')).sort.filter_map do |readme|
        dir = File.dirname readme
        id = File.basename dir
        next unless CHAPTER_DIR.match? id
        title = (File.foreach(readme).find {|l| l.start_with? '= ' } || "= #{id}").sub(/\A= /, '').strip
        lesson = (Dir.glob File.join(dir, '*Lesson.java')).map {|f| File.basename f }.sort.first
        tests = (Dir.glob File.join(dir, '*Test.java')).map {|f| File.basename f }.sort
        exercises = (Dir.glob File.join(base, 'exercises', id, '**', '*')).select {|f| File.file? f }
          .map {|f| (Pathname.new(f).relative_path_from Pathname.new(base)).to_s }.sort
        tag = id.sub(/\A\d\d-/, '')
        Chapter.new id, id[0, 2].to_i, tag, title, lesson, tests, exercises,
          aliases["chapters/#{id}/#{lesson}"] || tag
      end
    end
  end

  def chapter_of doc, path
    return nil unless (m = %r{\A(?:chapters|exercises|solutions)/(\d\d-[a-z0-9-]+)(?:/|\z)}.match path.to_s)
    chapters(doc).find {|c| c.id == m[1] }
  end

  # A link into a chapter's folders before the chapter exists: chapters/02-bind/... while there is no 02-bind.
  def pending? doc, path
    (m = %r{\A(?:chapters|exercises|solutions)/(\d\d-[a-z0-9-]+)(?:/|\z)}.match path) &&
      !(File.directory? File.join(root(doc), 'chapters', m[1]))
  end

  def rel_link from_dir, to
    (Pathname.new(to).relative_path_from Pathname.new(from_dir)).to_s
  end

  def esc text
    CGI.escapeHTML text.to_s
  end

  # Where a link to `path` (a normalised repository path) goes on the site: [site path, fragment] or PENDING.
  def target_for doc, path, fragment
    base = root doc
    abs = File.join base, path
    if path.end_with? '.html'
      adoc = path.sub(/\.html\z/, '.adoc')
      return [(adoc_page adoc), fragment] if File.file? File.join(base, adoc)
      return PENDING if pending? doc, path
      return [path, fragment]
    end
    return [(adoc_page path), fragment] if path.end_with?('.adoc') && (File.file? abs)
    return PENDING if pending? doc, path
    if (m = %r{\Asolutions/(\d\d-[a-z0-9-]+)/known-bad(?:/([^/]+))?}.match path)
      page = solution_page doc, m[1]
      return [page, m[2] ? %(known-bad-#{m[2].sub(/\.patch\z/, '')}) : 'known-bad']
    end
    if (m = %r{\Asolutions/(\d\d-[a-z0-9-]+)(?:/(.+))?\z}.match path)
      page = solution_page doc, m[1]
      return [page, (m[2] && (File.file? abs)) ? (file_anchor m[2]) : fragment]
    end
    if File.directory? abs
      if (m = %r{\Achapters/(\d\d-[a-z0-9-]+)/?\z}.match path) && (File.file? File.join(abs, 'README.adoc'))
        return [%(chapters/#{m[1]}/README.html), fragment]
      end
      return [(folder_page doc, path), fragment]
    end
    return [(file_page doc, path), nil] if File.file? abs
    [path, fragment] # made by the render itself (a diagram), or missing: the link check says which
  end

  def file_anchor name
    name.gsub(/[^A-Za-z0-9.-]/, '-')
  end

  LANGUAGES = { '.java' => 'java', '.xml' => 'xml', '.json' => 'json', '.properties' => 'properties',
                '.sh' => 'shell', '.md' => 'markdown', '.yml' => 'yaml', '.yaml' => 'yaml', '.toml' => 'toml' }

  def language_of path
    return 'shell' if %w(mvnw jbang run).include? File.basename(path)
    LANGUAGES[File.extname path] || 'text'
  end

  # Pages made from repository files, each once per render (one render = one JRuby runtime). They are made after
  # the page that links to them, not inside it: pages link to pages that link to pages.
  def claim page
    (@claimed ||= {}).key?(page) ? false : (@claimed[page] = true)
  end

  def later &block
    (@queue ||= []) << block
  end

  def make_linked_pages
    return if @draining
    @draining = true
    while (job = (@queue ||= []).shift)
      job.call
    end
  ensure
    @draining = false
  end

  def file_page doc, path
    page = %(#{path}.html)
    return page unless claim page
    chapter = chapter_of doc, path
    back = chapter ? %(link:#{rel_link File.dirname(path), "chapters/#{chapter.id}/README.adoc"}[#{chapter.title}]) :
      %(link:#{rel_link File.dirname(path), 'docs/index.adoc'}[The course index])
    role = path.start_with?('exercises/') ? 'This is a stub for you to complete' : 'Part of the course'
    source = <<~ADOC
      = #{path}

      [.file-context]
      #{role}: #{back}. Open it in your editor at `#{path}`.

      [source,#{language_of path},linenums]
      ----
      include::#{File.join root(doc), path}[]
      ----
    ADOC
    later { render doc, source, path, page, 'toc' => nil, 'role' => 'wide' }
    page
  end

  def folder_page doc, path
    path = path.chomp '/'
    page = %(#{path}/index.html)
    return page unless claim page
    files = (Dir.glob File.join(root(doc), path, '**', '*')).select {|f| File.file? f }.sort
    list = files.map do |f|
      name = (Pathname.new(f).relative_path_from Pathname.new(File.join root(doc), path)).to_s
      %(* link:#{name}[`#{name}`])
    end
    later { render doc, %(= #{path}/\n\n#{list.join "\n"}\n), %(#{path}/index.adoc), page, 'toc' => nil }
    page
  end

  # The per-chapter solution page: the reference files and the known-bad variants, behind a warning.
  def solution_page doc, id
    page = %(solutions/#{id}/index.html)
    return page unless claim page
    base = root doc
    chapter = chapters(doc).find {|c| c.id == id }
    title = chapter ? chapter.title.sub(/\A(Chapter \d+):?/, '\1 solution:') : %(Solution: #{id})
    back = chapter ? %(link:../../chapters/#{id}/README.adoc[#{chapter.title}]) : 'the chapter'
    parts = [%(= #{title}), '', 'WARNING: *Try the exercise first.* Reading a working answer before you wrote your own ' \
      "takes the lesson away: the graded tests tell you what is still missing (#{back}, section \"Grade it\"). " \
      'Come here when you are done, or truly stuck.', '']
    (Dir.glob File.join(base, 'solutions', id, '**', '*')).select {|f| File.file?(f) && !f.include?('/known-bad/') }.sort.each do |f|
      name = (Pathname.new(f).relative_path_from Pathname.new(File.join base, 'solutions', id)).to_s
      parts << %([[#{file_anchor name}]]) << %(== #{name}) << ''
      parts << %(The stub you completed: link:../../exercises/#{id}/#{name}[exercises/#{id}/#{name}].) << '' if
        File.file? File.join(base, 'exercises', id, name)
      parts << %([source,#{language_of f}]) << '----' << %(include::#{f}[]) << '----' << ''
    end
    bad = (Dir.glob File.join(base, 'solutions', id, 'known-bad', '*.patch')).sort
    unless bad.empty?
      parts << '[[known-bad]]' << '== Plausible mistakes the tests catch' << ''
      parts << 'Each of these is the reference solution with one tempting mistake, and the graded tests named ' \
        'with it fail on it (`./mvnw verify -Psolutions` proves it).' << ''
      bad.each do |entry|
        bug = File.basename(entry).sub(/\.patch\z/, '')
        parts << %([[known-bad-#{bug}]]) << %(=== #{bug}) << ''
        # the text above the diff says what is wrong and which tests catch it; the diff shows the mistake
        text, diff = File.read(entry).split(/^(?=--- )/, 2)
        parts << %([.known-bad-summary]) << (text.strip.gsub(/\n(?=Caught by:)/, " +\n")) << ''
        parts << '.The mistake, as a change to the solution' << '[source,diff]' << '----' <<
          %(include::#{entry}[lines=#{text.lines.size + 1}..-1]) << '----' << '' if diff
      end
    end
    later { render doc, (parts.join "\n"), %(solutions/#{id}/index.adoc), page, 'toc' => 'left', 'role' => 'wide' }
    page
  end

  # Converts a generated page with the same attributes as the page that links to it.
  def render doc, source, path, page, overrides
    attributes = %w(workbook-root workbook-site stylesheet source-highlighter rouge-style toclevels sectanchors
                    nofooter plantuml-config diagram-cachedir).each_with_object({}) {|k, attrs| attrs[k] = doc.attr k if doc.attr? k }
    attributes['webfonts'] = nil
    attributes.update overrides
    attributes['workbook-source'] = path
    attributes['workbook-page'] = page
    out = File.join site(doc), page
    FileUtils.mkdir_p File.dirname(out)
    Asciidoctor.convert source, safe: :unsafe, standalone: true, to_file: out, base_dir: root(doc),
      attributes: attributes
  end

  # Rewrites every relative href/src of a rendered page (see the header of this file).
  def rewrite doc, html
    source = source_of doc
    return html unless source
    source_dir = File.dirname source
    page_dir = File.dirname(page_of doc)
    resolve = lambda do |url, resource = false|
      return url if url.empty? || url.start_with?('#', '/') || url.match?(/\A[a-z][a-z0-9+.-]*:/i)
      raw, fragment = url.split('#', 2)
      raw, query = raw.split('?', 2)
      path = Pathname.new(File.join source_dir, CGI.unescape(raw)).cleanpath.to_s
      return url if path.start_with? '..'
      path += '/' if raw.end_with?('/') && !path.end_with?('/')
      # an image, stylesheet or icon is used as it is: copied or made by the render at the same path
      target = resource ? [path, fragment] : (target_for doc, path.chomp('/'), fragment)
      return PENDING if target == PENDING
      site_path, frag = target
      href = rel_link page_dir, site_path
      href += %(?#{query}) if query
      frag ? %(#{href}##{frag}) : href
    end
    pending = []
    html = html.gsub(%r{<a\b([^>]*?)\bhref="([^"]*)"([^>]*)>(.*?)</a>}m) do
      before, url, after, text = $1, $2, $3, $4
      href = resolve.call CGI.unescapeHTML(url)
      if href == PENDING
        pending << url[/\d\d-[a-z0-9-]+/]
        %(<span class="pending" title="This chapter is not published yet">#{text}</span>)
      else
        %(<a#{before}href="#{esc href}"#{after}>#{text}</a>)
      end
    end
    unless pending.empty?
      Asciidoctor::LoggerManager.logger.info %(links to chapters not written yet, shown as text: #{pending.uniq.sort.join ', '})
    end
    html.gsub(/(<(?:img|link|script|source|iframe|object)\b[^>]*?\b(?:src|href|data)=")([^"]*)(")/) do
      href = resolve.call CGI.unescapeHTML($2), true
      href == PENDING ? %(#{$1}#{$2}#{$3}) : %(#{$1}#{esc href}#{$3})
    end
  end

  def chapter_doc doc
    (m = %r{\Achapters/(\d\d-[a-z0-9-]+)/README\.adoc\z}.match source_of(doc).to_s) &&
      chapters(doc).find {|c| c.id == m[1] }
  end

  # "Run it", "Grade it" and "Files": links written as repository paths from the chapter folder, like the text's.
  def chapter_boxes chapter
    files = []
    files << %(<li><a href="#{esc chapter.lesson}">#{esc chapter.lesson}</a> — the lesson</li>) if chapter.lesson
    chapter.tests.each {|t| files << %(<li><a href="#{esc t}">#{esc t}</a> — graded tests</li>) }
    chapter.exercises.each do |e|
      files << %(<li><a href="../../#{esc e}"><code>#{esc e}</code></a> — your code</li>)
    end
    diagrams = (DIAGRAMS[chapter.tag] || []).map do |(label, anchor)|
      %(<a href="../../docs/diagrams.adoc##{anchor}">#{esc label}</a>)
    end
    see = diagrams.empty? ? '' : %(<p class="see">Diagrams: #{diagrams.join ', '}.</p>)
    <<~HTML
      <aside class="workbench" aria-label="Run and grade this chapter">
      <div class="box run"><p class="box-title">Run it</p>
      <pre class="command"><code>./jbang #{esc chapter.alias_name}</code></pre>
      <p>from the repository root (from this chapter's folder: <code>../../jbang #{esc chapter.alias_name}</code>). The lesson narrates each step and prints what the kernel shows.</p></div>
      <div class="box grade"><p class="box-title">Grade it</p>
      <pre class="command"><code>./mvnw test -Dgroups=#{esc chapter.tag}</code></pre>
      <p>runs this chapter's graded tests against your code: a scorecard at the end, details in <code>target/grade.json</code> (<a href="../../docs/grading.adoc">how grading works</a>).</p></div>
      <div class="box files"><p class="box-title">Files</p>
      <ul>#{files.join}</ul>#{see}</div>
      </aside>
    HTML
  end

  def pager doc, chapter
    list = chapters doc
    i = list.index chapter
    prev_link = i > 0 ? %(<a class="prev" rel="prev" href="../#{list[i - 1].id}/README.adoc"><span>Previous</span>#{esc list[i - 1].title}</a>) : %(<a class="prev" href="../../docs/index.adoc"><span>Previous</span>Start here</a>)
    next_link = i + 1 < list.size ? %(<a class="next" rel="next" href="../#{list[i + 1].id}/README.adoc"><span>Next</span>#{esc list[i + 1].title}</a>) : %(<a class="next" href="../../docs/glossary.adoc"><span>Next</span>Glossary</a>)
    %(<nav class="pager" aria-label="Chapters">#{prev_link}#{next_link}</nav>)
  end

  # The site bar: written as repository paths relative to the page's source, then rewritten like any link.
  def site_bar doc
    source = source_of doc
    return '' unless source
    from = File.dirname source
    link = ->(path, label) { %(<a href="#{esc rel_link from, path}">#{label}</a>) }
    current = chapter_doc doc
    chapter_links = chapters(doc).map do |c|
      %(<a href="#{esc rel_link from, "chapters/#{c.id}/README.adoc"}"#{c == current ? ' aria-current="page"' : ''}>#{c.number}</a>)
    end
    <<~HTML
      <nav class="sitebar" aria-label="Course">
      #{link.call 'docs/index.adoc', '<strong>Socket Workbook</strong>'}
      <span class="chapters" aria-label="Chapters">#{chapter_links.join}</span>
      <span class="more">#{link.call 'docs/setup.adoc', 'Setup'}#{link.call 'docs/grading.adoc', 'Grading'}#{link.call 'docs/diagrams.adoc', 'Diagrams'}#{link.call 'docs/glossary.adoc', 'Glossary'}</span>
      </nav>
    HTML
  end

  class Chrome < Asciidoctor::Extensions::TreeProcessor
    def process doc
      return unless (chapter = SocketWorkbook.chapter_doc doc)
      at = doc.blocks[0]&.context == :preamble ? 1 : 0
      doc.blocks.insert at, (create_pass_block doc, (SocketWorkbook.chapter_boxes chapter), {})
      unless doc.source.include? %(solutions/#{chapter.id})
        doc.blocks << (create_pass_block doc, <<~HTML, {})
          <div class="admonitionblock warning"><table><tr><td class="icon"><div class="title">Warning</div></td>
          <td class="content">Try the exercise first. When you are done, or truly stuck, compare with <a href="../../solutions/#{chapter.id}/">the reference solution</a>.</td></tr></table></div>
        HTML
      end
      doc.blocks << (create_pass_block doc, (SocketWorkbook.pager doc, chapter), {})
      nil
    end
  end

  class Head < Asciidoctor::Extensions::DocinfoProcessor
    use_dsl
    at_location :head
    def process doc
      return '' unless (source = SocketWorkbook.source_of doc)
      %(<link rel="icon" type="image/svg+xml" href="#{SocketWorkbook.rel_link File.dirname(source), 'docs/site/assets/favicon.svg'}">)
    end
  end

  class Bar < Asciidoctor::Extensions::DocinfoProcessor
    use_dsl
    at_location :header
    def process doc
      SocketWorkbook.site_bar doc
    end
  end

  class Links < Asciidoctor::Extensions::Postprocessor
    def process doc, output
      return output unless doc.basebackend? 'html'
      html = SocketWorkbook.rewrite doc, output
      SocketWorkbook.make_linked_pages
      return html unless SocketWorkbook.source_of(doc) == 'docs/index.adoc' && !(doc.attr? 'workbook-page')
      # the start page lives at the site's root; docs/index.html (written by the plugin) forwards to it
      File.write File.join(SocketWorkbook.site(doc), 'index.html'), html
      <<~HTML
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="UTF-8"><meta http-equiv="refresh" content="0; url=../index.html">
        <title>Socket Workbook</title></head>
        <body><p><a href="../index.html">Socket Workbook: start here</a></p></body></html>
      HTML
    end
  end
end

Asciidoctor::Extensions.register do
  tree_processor SocketWorkbook::Chrome
  docinfo_processor SocketWorkbook::Head
  docinfo_processor SocketWorkbook::Bar
  postprocessor SocketWorkbook::Links
end
