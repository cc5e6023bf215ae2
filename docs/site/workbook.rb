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
#   anything missing (a chapter not written yet too) -> a broken link, which the site check reports
#
# Chapter pages also get their "Run it" / "Grade it" / "Files" boxes, previous/next links, and, if the text
# forgot it, a link to the solution page under a "try the exercise first" warning. Chapters are found by their
# folders (chapters/NN-name/README.adoc) and lesson aliases in jbang-catalog.json, and a chapter names its
# diagrams in its own header (`:workbook-diagrams: queues, handshake`, anchors of docs/diagrams.adoc), so a new
# chapter needs nothing here; the start page (docs/index.adoc) has a line per chapter, which the site check asks for.
#
# Every page is built for keyboards and screen readers (WCAG 2.1 AA, checked by axe in the site check): a skip
# link, one main landmark, the contents as a navigation landmark, code listings that a keyboard can reach and
# scroll, a highlighting palette with at least 4.5:1 contrast, and diagrams that say what they show.

require 'asciidoctor'
require 'asciidoctor/extensions'
require 'json'
require 'pathname'
require 'fileutils'
require 'cgi'
require 'rouge'

module SocketWorkbook
  # A chapter's folder name, "04-accept": the same in chapters/, exercises/ and solutions/.
  CHAPTER_DIR = /\d\d-[a-z0-9-]+/

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
        next unless /\A#{CHAPTER_DIR}\z/.match? id
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
    return nil unless (m = %r{\A(?:chapters|exercises|solutions)/(#{CHAPTER_DIR})(?:/|\z)}.match path.to_s)
    chapters(doc).find {|c| c.id == m[1] }
  end

  def rel_link from_dir, to
    (Pathname.new(to).relative_path_from Pathname.new(from_dir)).to_s
  end

  def esc text
    CGI.escapeHTML text.to_s
  end

  # Where a link to `path` (a normalised repository path) goes on the site: [site path, fragment]. A link to a
  # page whose source does not exist goes to where that page would be: the link check reports it as missing.
  def target_for doc, path, fragment
    base = root doc
    abs = File.join base, path
    if path.end_with? '.html'
      adoc = path.sub(/\.html\z/, '.adoc')
      return [(adoc_page adoc), fragment] if File.file? File.join(base, adoc)
      return [path, fragment]
    end
    return [(adoc_page path), fragment] if path.end_with? '.adoc'
    if (m = %r{\Asolutions/(#{CHAPTER_DIR})/known-bad(?:/([^/]+))?}.match path)
      page = solution_page doc, m[1]
      return [page, m[2] ? %(known-bad-#{m[2].sub(/\.patch\z/, '')}) : 'known-bad']
    end
    if (m = %r{\Asolutions/(#{CHAPTER_DIR})(?:/(.+))?\z}.match path)
      page = solution_page doc, m[1]
      return [page, (m[2] && (File.file? abs)) ? (file_anchor m[2]) : fragment]
    end
    if File.directory? abs
      if (m = %r{\Achapters/(#{CHAPTER_DIR})/?\z}.match path) && (File.file? File.join(abs, 'README.adoc'))
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
      site_path, frag = resource ? [path, fragment] : (target_for doc, path.chomp('/'), fragment)
      href = rel_link page_dir, site_path
      href += %(?#{query}) if query
      frag ? %(#{href}##{frag}) : href
    end
    html = html.gsub(%r{<a\b([^>]*?)\bhref="([^"]*)"([^>]*)>}) do
      before, url, after = $1, $2, $3
      %(<a#{before}href="#{esc resolve.call CGI.unescapeHTML(url)}"#{after}>)
    end
    html.gsub(/(<(?:img|link|script|source|iframe|object)\b[^>]*?\b(?:src|href|data)=")([^"]*)(")/) do
      before, url, after = $1, $2, $3
      %(#{before}#{esc resolve.call CGI.unescapeHTML(url), true}#{after})
    end
  end

  # Landmarks and keyboard access for a rendered page: a skip link to the text, the course bar, then one main
  # landmark holding the title, the contents (a navigation landmark) and the text. Every code listing and every
  # table (which scroll sideways when they are wider than the screen) can take the focus, so that a keyboard can
  # scroll it, and says what it is to a screen reader.
  def accessible html
    html = html.sub(/(<body\b[^>]*>)/) { %(#{$1}\n<a class="skip-link" href="#content">Skip to the text</a>) }
    opening = html.include?('<div id="header">') ? '<div id="header">' : '<div id="content">'
    html = html.sub(opening) { %(<main id="main">\n#{opening}) }
    html = html.sub(%r{(\n</body>)}) { %(\n</main>#{$1}) }
    html = html.sub('<div id="content">', '<div id="content" tabindex="-1">')
    html = html.sub(/<div id="toc" class="([^"]*)">/) { %(<div id="toc" class="#{$1}" role="navigation" aria-labelledby="toctitle">) }
    listing = 0
    html = html.gsub(%r{(<div class="(?:listingblock|literalblock)\b[^"]*"[^>]*>\s*(?:<div class="title">(.*?)</div>\s*)?<div class="content">\s*)<pre\b}m) do
      before, title = $1, $2 && strip_tags($2).strip # (strip_tags matches again: take the groups first)
      listing += 1
      label = title && !title.empty? ? %(Code listing #{listing}: #{title}) : %(Code listing #{listing})
      %(#{before}<pre tabindex="0" role="region" aria-label="#{esc label}")
    end
    scrolling_tables html
  end

  # Wraps each table of the text in a region that scrolls sideways on a narrow screen (the table keeps its own
  # semantics; a table inside a table cell goes with its outer one).
  def scrolling_tables html
    out, pos, count = +'', 0, 0
    while (start = html.index('<table class="tableblock', pos))
      depth, scan = 0, start
      while (m = %r{<table\b|</table>}.match(html, scan))
        depth += m[0] == '</table>' ? -1 : 1
        scan = m.end(0)
        break if depth == 0
      end
      break unless depth == 0 # not closed: leave the rest as it is
      count += 1
      caption = strip_tags(html[start...scan][%r{<caption\b[^>]*>(.*?)</caption>}m, 1]).strip
      label = caption.empty? ? %(Table #{count}) : caption
      out << html[pos...start] << %(<div class="table-scroll" tabindex="0" role="region" aria-label="#{esc label}">) <<
        html[start...scan] << '</div>'
      pos = scan
    end
    out << html[pos..]
  end

  # Diagrams drawn as SVG carry their text alternative inside the file too (a <title> and a <desc>), for whoever
  # opens the picture on its own; the page's <img> carries it as alt. A diagram without an alt= of its own is an
  # error: asciidoctor-diagram would name it after its file ("lost ack"), which tells a screen reader nothing.
  def describe_diagrams doc
    doc.find_by(context: :image) {|b| (b.attr 'target').to_s.end_with? '.svg' }.each do |image|
      target = image.attr 'target'
      alt = (image.attr 'alt').to_s
      if alt.empty? || alt == (File.basename target, '.svg').tr('_-', ' ')
        Asciidoctor::LoggerManager.logger.error %(the diagram #{target} needs a text alternative: add alt="what it shows, in a sentence or two" to its block)
        next
      end
      section = image.parent
      section = section.parent until section.nil? || section.context == :section || section.context == :document
      title = image.title? ? image.title : (section && section.context == :section ? section.title : doc.doctitle)
      # where asciidoctor-diagram wrote it: the images output folder, else beside the page's own output
      out = (doc.attr 'imagesoutdir') || File.join(((doc.attr 'outdir') || doc.options[:to_dir] || site(doc)), (doc.attr 'imagesdir', ''))
      svg = [File.join(out, target), File.join(site(doc), File.dirname(page_of doc), target)].find {|f| File.file? f }
      next unless svg
      text = File.read svg, mode: 'r:UTF-8'
      described = text.sub(%r{(<svg\b[^>]*>)(?:<title id="diagram-title">.*?</title><desc id="diagram-desc">.*?</desc>)?}m) do
        svg_tag = $1
        %(#{svg_tag}<title id="diagram-title">#{esc strip_tags title}</title><desc id="diagram-desc">#{esc CGI.unescapeHTML(alt)}</desc>)
      end
      described = described.sub(/<svg\b(?![^>]*\brole=)/, '<svg role="img" aria-labelledby="diagram-title" aria-describedby="diagram-desc"')
      File.write svg, described, mode: 'w:UTF-8' unless described == text
    end
  end

  def strip_tags text
    CGI.unescapeHTML text.to_s.gsub(/<[^>]+>/, '')
  end

  def chapter_doc doc
    (m = %r{\Achapters/(#{CHAPTER_DIR})/README\.adoc\z}.match source_of(doc).to_s) &&
      chapters(doc).find {|c| c.id == m[1] }
  end

  # The diagrams a chapter names in its header (`:workbook-diagrams: queues, handshake`): [label, anchor] pairs,
  # labelled with the titles of their sections in docs/diagrams.adoc.
  def diagrams_of doc
    names = (doc.attr 'workbook-diagrams', '').split(',').map(&:strip).reject(&:empty?)
    return [] if names.empty?
    titles = (@diagram_titles ||= {})[root doc] ||= begin
      text = File.read File.join(root(doc), 'docs', 'diagrams.adoc'), mode: 'r:UTF-8' rescue ''
      text.scan(/^\[\[([^\]]+)\]\]\s*\n==\s+(.+)$/).to_h
    end
    # an anchor that docs/diagrams.adoc lacks still gets its link: the link check reports the missing #fragment
    names.map {|name| [(titles[name] || name).sub(/\AThe /, 'the '), name] }
  end

  # "Run it", "Grade it" and "Files": links written as repository paths from the chapter folder, like the text's.
  def chapter_boxes doc, chapter
    files = []
    files << %(<li><a href="#{esc chapter.lesson}">#{esc chapter.lesson}</a> — the lesson</li>) if chapter.lesson
    chapter.tests.each {|t| files << %(<li><a href="#{esc t}">#{esc t}</a> — graded tests</li>) }
    chapter.exercises.each do |e|
      files << %(<li><a href="../../#{esc e}"><code>#{esc e}</code></a> — your code</li>)
    end
    diagrams = (diagrams_of doc).map do |(label, anchor)|
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
      <span class="chapters" role="group" aria-label="Chapters">#{chapter_links.join}</span>
      <span class="more">#{link.call 'docs/setup.adoc', 'Setup'}#{link.call 'docs/grading.adoc', 'Grading'}#{link.call 'docs/diagrams.adoc', 'Diagrams'}#{link.call 'docs/glossary.adoc', 'Glossary'}</span>
      </nav>
    HTML
  end

  # The code highlighting palette (rouge-style "workbook", set in pom.xml): GitHub's light colours, every one at
  # least 4.5:1 against the listing background (#f6f8fa), as WCAG AA asks of text; the site check measures it.
  class Palette < Rouge::CSSTheme
    name 'workbook'

    style Text,                                          fg: '#1f2328', bg: '#f6f8fa'
    style Comment,                                       fg: '#59636e', italic: true
    style Comment::Preproc,                              fg: '#cf222e'
    style Keyword, Keyword::Declaration, Keyword::Type, Operator::Word, fg: '#cf222e'
    style Keyword::Constant, Literal::Number, Literal::String::Escape, Name::Attribute, Name::Constant,
          fg: '#0550ae'
    style Literal::String,                               fg: '#0a3069'
    style Literal::String::Regex, Name::Tag,             fg: '#116329'
    style Name::Class, Name::Function, Name::Exception, Name::Entity, fg: '#6639ba'
    style Name::Builtin, Name::Decorator, Name::Label, Name::Variable, fg: '#953800'
    style Generic::Heading, Generic::Subheading,         fg: '#0550ae', bold: true
    style Generic::Deleted, Error,                       fg: '#82071e', bg: '#ffebe9'
    style Generic::Inserted,                             fg: '#116329', bg: '#dafbe1'
    style Generic::Error, Generic::Traceback,            fg: '#82071e'
    style Generic::Output, Generic::Prompt,              fg: '#59636e'
    style Generic::Emph,                                 italic: true
    style Generic::Strong,                               bold: true
  end

  class Chrome < Asciidoctor::Extensions::TreeProcessor
    def process doc
      SocketWorkbook.describe_diagrams doc
      return unless (chapter = SocketWorkbook.chapter_doc doc)
      at = doc.blocks[0]&.context == :preamble ? 1 : 0
      doc.blocks.insert at, (create_pass_block doc, (SocketWorkbook.chapter_boxes doc, chapter), {})
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

  # What a lesson printed when the site was built (chapters/course-check/LessonOutput.java writes it before the
  # render; a chapter's "See it" includes {workbook-lesson-output}/<Lesson>.adoc). If it was not made, the page says
  # how to see it instead of failing the build.
  class LessonOutput < Asciidoctor::Extensions::IncludeProcessor
    def handles? *args # (target) or, in newer Asciidoctor, (doc, target)
      %r{/_lesson-output/[A-Za-z0-9]+Lesson\.adoc\z}.match? args.last.to_s
    end

    def process doc, reader, target, attributes
      path = File.absolute_path target, doc.base_dir
      text = if File.file? path
        File.read path, mode: 'r:UTF-8'
      else
        lesson = %(#{File.basename target, '.adoc'}.java)
        chapter = SocketWorkbook.chapters(doc).find {|c| c.lesson == lesson }
        %(The lesson's output is shown here once the site build has run it: run `./jbang #{chapter ? chapter.alias_name : lesson}` to see what it prints.\n)
      end
      reader.push_include text, path, target, 1, attributes
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
      html = SocketWorkbook.accessible SocketWorkbook.rewrite(doc, output)
      SocketWorkbook.make_linked_pages
      return html unless SocketWorkbook.source_of(doc) == 'docs/index.adoc' && !(doc.attr? 'workbook-page')
      # the start page lives at the site's root; docs/index.html (written by the plugin) forwards to it
      File.write File.join(SocketWorkbook.site(doc), 'index.html'), html
      <<~HTML
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="UTF-8"><meta http-equiv="refresh" content="0; url=../index.html">
        <meta name="viewport" content="width=device-width, initial-scale=1.0"><title>Socket Workbook</title></head>
        <body><main><h1>Socket Workbook</h1><p><a href="../index.html">Start here</a></p></main></body></html>
      HTML
    end
  end
end

Asciidoctor::Extensions.register do
  tree_processor SocketWorkbook::Chrome
  include_processor SocketWorkbook::LessonOutput
  docinfo_processor SocketWorkbook::Head
  docinfo_processor SocketWorkbook::Bar
  postprocessor SocketWorkbook::Links
end
